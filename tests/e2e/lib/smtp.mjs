// A real SMTP sink for the mail flows: Debian's python3-aiosmtpd writing
// every message to a Maildir. readMails() parses what arrived.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort() {
    return new Promise((resolve, reject) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
        s.on('error', reject);
    });
}

async function waitForPort(port, ms) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        const ok = await new Promise((resolve) => {
            const c = connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
            c.on('error', () => resolve(false));
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`SMTP sink did not listen on ${port}`);
}

export async function startSmtpSink() {
    const root = mkdtempSync(join(tmpdir(), 'tarmac-smtp-'));
    // aiosmtpd's Mailbox creates the Maildir only when the path does not exist yet.
    const dir = join(root, 'Maildir');
    const port = await freePort();
    const proc = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`,
        '-c', 'aiosmtpd.handlers.Mailbox', dir], { stdio: 'ignore' });
    await waitForPort(port, 10000);
    return {
        port,
        dir,
        async stop() {
            proc.kill('SIGTERM');
            await new Promise((r) => proc.once('exit', r));
            rmSync(root, { recursive: true, force: true });
        },
    };
}

// Decodes a quoted-printable body (what the mailer writes for text).
function decodeQP(s) {
    return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

// Every message in the Maildir: {to, subject, text, raw} (text: the whole
// body, every part, decoded; raw: the message as received).
export function readMails(sink) {
    const out = [];
    for (const sub of ['new', 'cur']) {
        let names = [];
        try { names = readdirSync(join(sink.dir, sub)); } catch { continue; }
        for (const n of names.sort()) {
            const raw = readFileSync(join(sink.dir, sub, n), 'utf8');
            const [head, ...rest] = raw.split(/\r?\n\r?\n/);
            const header = (name) => {
                const m = head.match(new RegExp(`^${name}:\\s*(.*)$`, 'mi'));
                return m ? m[1].trim() : '';
            };
            let body = rest.join('\n\n');
            if (/quoted-printable/i.test(raw)) body = decodeQP(body);
            if (/Content-Transfer-Encoding:\s*base64/i.test(head)) {
                body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
            }
            out.push({ to: header('To'), subject: header('Subject'), text: body, raw });
        }
    }
    return out;
}

// Waits until a mail to `to` matching `re` arrives; returns that mail.
export async function waitForMailTo(sink, to, re, ms = 15000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        const m = readMails(sink).find((x) => x.to.includes(to) && re.test(x.text));
        if (m) return m;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail to ${to} matching ${re}`);
}

// Waits until a mail to `to` matching `re` arrives; returns the first match's group 1.
export async function waitForMail(sink, to, re, ms = 15000) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        for (const m of readMails(sink)) {
            if (m.to.includes(to)) {
                const hit = m.text.match(re);
                if (hit) return hit[1];
            }
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail to ${to} matching ${re}`);
}
