// produce_tarmac.mjs -- the record changes of bench/jobs.sh for tarmac: N
// creates of posts, each a committed write whose webhook job is in the same
// transaction; at RATE per second (0: as fast as CONC connections go). Writes
// "recordId committed_us" per create (the time its 200 arrived: the commit is
// done) to OUTFILE.
//   node produce_tarmac.mjs URL N RATE CONC OUTFILE
//
// A load generator, like wrk: CONC kept-alive connections written to
// directly, one request in flight on each, each answer read far enough for
// its status and record id. Node's http client spent about three times the
// CPU per request on the load generator's core, which the receiver shares,
// and capped the drain below what the server does.
import net from 'node:net';
import { writeFileSync } from 'node:fs';

const [url, n, rate, conc, out] = [new URL(process.argv[2]), +process.argv[3], +process.argv[4],
    +process.argv[5], process.argv[6]];
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const body = JSON.stringify({ title: 'hello from the benchmark' });
const request = Buffer.from(`POST /api/collections/posts/records HTTP/1.1\r\nHost: ${url.host}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
const lines = [];
let sent = 0, done = 0, failed = 0;

// One connection: send() writes a request; each complete answer calls
// onAnswer(status, bodyText).
function connection(onAnswer) {
    const sock = net.connect(+url.port, url.hostname);
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const head = buf.subarray(0, end).toString('latin1');
            const m = /\r\ncontent-length: *(\d+)/i.exec(head);
            const len = m ? +m[1] : 0;
            if (buf.length < end + 4 + len) return;
            const status = +head.slice(9, 12);
            const text = buf.subarray(end + 4, end + 4 + len).toString();
            buf = buf.subarray(end + 4 + len);
            onAnswer(status, text);
        }
    });
    sock.on('error', () => {});
    return { send: () => sock.write(request), sock };
}

function record(status, text) {
    const at = now();
    if (status === 200) {
        lines.push(`${JSON.parse(text).id} ${at}`);
    } else {
        failed++;
    }
    done++;
}

const start = performance.now();
await new Promise((resolve) => {
    const idle = [];
    const conns = Array.from({ length: conc }, () => {
        const c = connection((status, text) => {
            record(status, text);
            if (done === n) return resolve();
            if (rate > 0) idle.push(c);
            else if (sent < n) { sent++; c.send(); }
        });
        return c;
    });
    if (rate > 0) {
        // open loop: one request every 1/rate s on a free connection (a new
        // one when none is free), whatever the answers do
        idle.push(...conns);
        const tick = () => {
            const due = Math.min(n, Math.floor((performance.now() - start) * rate / 1000));
            while (sent < due) {
                sent++;
                let c = idle.pop();
                if (!c) {
                    c = connection((status, text) => {
                        record(status, text);
                        if (done === n) resolve();
                        else idle.push(c);
                    });
                }
                c.send();
            }
            if (sent < n) setTimeout(tick, 1);
        };
        tick();
    } else {
        for (const c of conns) if (sent < n) { sent++; c.send(); }
    }
});
writeFileSync(out, lines.join('\n') + '\n');
console.log(JSON.stringify({ created: lines.length, failed, seconds: (performance.now() - start) / 1000 }));
process.exit(0);
