// Realtime fan-out and idle-subscriber memory, against a running tarmac.
//
//   node bench/rt_fanout.mjs fanout URL TOKEN SUBS EVENTS [PID]
//     SUBS raw SSE connections subscribe to feed/* (as guests); then EVENTS
//     records are created one at a time (each carries its send time in
//     `sent`), 100 ms apart; every subscriber notes when each event arrives.
//     Prints delivery latency percentiles over all (subscriber, event)
//     pairs and the time until the last subscriber had each event.
//   node bench/rt_fanout.mjs owners URL TOKEN SUBS EVENTS PID
//     SUBS users (made here through the batch API, tokens by impersonation)
//     each subscribe to orders/* on their own stream, with the listRule
//     `owner = @request.auth.id`: every event is checked against every
//     subscriber and reaches one. Prints the owner's delivery latency and the
//     server CPU per event (the cost of SUBS rule checks).
//   node bench/rt_fanout.mjs idle URL TOKEN SUBS PID
//     SUBS SSE connections subscribe and stay idle; prints the server's RSS
//     (from /proc/PID/status) before and after, and the bytes per subscriber.
//
// One process, raw sockets (no EventSource per connection): the client must
// be cheaper than the server it measures. Connections are spread over
// 127.0.0.1-127.0.0.8 as source addresses so more than one ephemeral port
// range is available.

import net from 'node:net';
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [mode, url, token, subsArg, fifth] = process.argv.slice(2);
const SUBS = Number(subsArg);
const { hostname, port } = new URL(url);
// One agent per source address: a subscription must come from the IP that
// opened the stream (spec §7.2).
const agents = Array.from({ length: 8 }, (_, i) => new http.Agent({
    keepAlive: true, maxSockets: 8, localAddress: `127.0.0.${1 + i}`,
}));

function request(method, path, body, auth, source = 0) {
    const agent = agents[source % 8];
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = http.request({
            host: hostname, port, method, path, agent,
            headers: {
                ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
                ...(auth ? { Authorization: auth } : {}),
            },
        }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { text += c; });
            res.on('end', () => resolve({ status: res.statusCode, text }));
        });
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

const now = () => performance.timeOrigin + performance.now();

/** Opens one SSE stream; calls onEvent(name, data) per message. Resolves with the client id. */
function openStream(i, onEvent) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({
            host: hostname, port: Number(port), localAddress: `127.0.0.${1 + (i % 8)}`,
        });
        let buf = '';
        let head = true;
        let resolved = false;
        sock.setEncoding('utf8');
        sock.on('connect', () => sock.write(`GET /api/realtime HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`));
        sock.on('data', (chunk) => {
            buf += chunk;
            if (head) {
                const e = buf.indexOf('\r\n\r\n');
                if (e < 0) return;
                buf = buf.slice(e + 4);
                head = false;
            }
            let k;
            while ((k = buf.indexOf('\n\n')) >= 0) {
                const block = buf.slice(0, k);
                buf = buf.slice(k + 2);
                let id = '', event = '', data = '';
                for (const line of block.split('\n')) {
                    if (line.startsWith('id:')) id = line.slice(3);
                    else if (line.startsWith('event:')) event = line.slice(6);
                    else if (line.startsWith('data:')) data = line.slice(5);
                }
                if (event === 'PB_CONNECT' && !resolved) {
                    resolved = true;
                    resolve({ sock, id });
                } else if (event) {
                    onEvent(event, data);
                }
            }
        });
        sock.on('error', (e) => { if (!resolved) reject(e); });
    });
}

async function connectAll(onEvent, tokens = null, topic = 'feed/*') {
    const streams = [];
    const batch = 500;
    for (let i = 0; i < SUBS; i += batch) {
        const part = [];
        for (let k = i; k < Math.min(SUBS, i + batch); k++) {
            part.push(openStream(k, onEvent).then((s) => ({ ...s, source: k })));
        }
        streams.push(...(await Promise.all(part)));
    }
    // Subscribe, 64 POSTs in flight.
    let next = 0;
    async function worker() {
        while (next < streams.length) {
            const s = streams[next++];
            const r = await request('POST', '/api/realtime', { clientId: s.id, subscriptions: [topic] },
                tokens ? tokens[s.source] : undefined, s.source);
            if (r.status !== 204) throw new Error(`subscribe: ${r.status} ${r.text}`);
        }
    }
    await Promise.all(Array.from({ length: 64 }, worker));
    return streams;
}

function rssKiB(pid) {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]);
}

function pct(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ ticks
}

if (mode === 'fanout') {
    const EVENTS = Number(fifth);
    const serverPid = Number(process.argv[7] || 0);
    const lat = [];
    const lastArrival = new Map(); // event seq -> latest arrival time
    const sentAt = new Map();
    const t0 = Date.now();
    const streams = await connectAll((event, data) => {
        const t = now();
        const rec = JSON.parse(data).record;
        lat.push(t - rec.sent);
        if ((lastArrival.get(rec.seq) || 0) < t) lastArrival.set(rec.seq, t);
    });
    console.log(`${streams.length} subscribers connected and subscribed in ${Date.now() - t0} ms`);
    const rtt = [];
    // A probe beside the events: does the fan-out hold up other requests?
    const probe = [];
    let probing = true;
    const prober = (async () => {
        while (probing) {
            const t = now();
            await request('GET', '/api/health');
            probe.push(now() - t);
            await new Promise((res) => setTimeout(res, 5));
        }
    })();
    const cpu0 = serverPid ? cpuSeconds(serverPid) : 0;
    for (let e = 0; e < EVENTS; e++) {
        const sent = now();
        sentAt.set(e, sent);
        const r = await request('POST', '/api/collections/feed/records', { title: `event ${e}`, sent, seq: e }, token);
        rtt.push(now() - sent);
        if (r.status !== 200) throw new Error(`create: ${r.status} ${r.text}`);
        await new Promise((res) => setTimeout(res, 100));
    }
    const want = SUBS * EVENTS;
    const end = Date.now() + 30000;
    while (lat.length < want && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    const cpu = serverPid ? cpuSeconds(serverPid) - cpu0 : 0;
    probing = false;
    await prober;
    probe.sort((a, b) => a - b);
    lat.sort((a, b) => a - b);
    const spans = [...lastArrival.entries()].map(([seq, t]) => t - sentAt.get(seq)).sort((a, b) => a - b);
    rtt.sort((a, b) => a - b);
    console.log(`deliveries: ${lat.length} of ${want}`);
    console.log(`create round trip ms (the commit the events wait for): p50 ${pct(rtt, 50).toFixed(2)}, ` +
        `max ${rtt[rtt.length - 1].toFixed(2)}`);
    console.log(`delivery latency ms (create request sent -> event parsed): p50 ${pct(lat, 50).toFixed(2)}, ` +
        `p90 ${pct(lat, 90).toFixed(2)}, p99 ${pct(lat, 99).toFixed(2)}, max ${lat[lat.length - 1].toFixed(2)}`);
    console.log(`GET /api/health meanwhile (${probe.length} probes) ms: p50 ${pct(probe, 50).toFixed(2)}, ` +
        `p99 ${pct(probe, 99).toFixed(2)}, max ${probe[probe.length - 1].toFixed(2)}`);
    console.log(`time to the last subscriber per event ms: p50 ${pct(spans, 50).toFixed(2)}, ` +
        `p99 ${pct(spans, 99).toFixed(2)}, max ${spans[spans.length - 1].toFixed(2)}`);
    if (serverPid) {
        console.log(`server CPU during the events: ${cpu.toFixed(2)} s = ` +
            `${((cpu * 1e6) / lat.length).toFixed(2)} us per delivery (incl. ${EVENTS} creates)`);
    }
    for (const s of streams) s.sock.destroy();
} else if (mode === 'owners') {
    const EVENTS = Number(fifth);
    const serverPid = Number(process.argv[7] || 0);
    const t0 = Date.now();
    // Users, 50 per batch request (the server runs with cheap argon2 settings).
    const ids = [];
    for (let i = 0; i < SUBS; i += 50) {
        const requests = [];
        for (let k = i; k < Math.min(SUBS, i + 50); k++) {
            const id = `u${String(k).padStart(14, '0')}`;
            ids.push(id);
            requests.push({
                method: 'POST', url: '/api/collections/users/records',
                body: { id, email: `${id}@example.com`, password: 'password123', passwordConfirm: 'password123' },
            });
        }
        const r = await request('POST', '/api/batch', { requests }, token);
        if (r.status !== 200) throw new Error(`users: ${r.status} ${r.text.slice(0, 300)}`);
    }
    const tokens = [];
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < ids.length) {
            const k = next++;
            const r = await request('POST', `/api/collections/users/impersonate/${ids[k]}`, { duration: 3600 }, token);
            if (r.status !== 200) throw new Error(`impersonate: ${r.status} ${r.text}`);
            tokens[k] = JSON.parse(r.text).token;
        }
    }));
    console.log(`${SUBS} users and tokens in ${Date.now() - t0} ms`);
    const lat = [];
    const streams = await connectAll((event, data) => {
        const rec = JSON.parse(data).record;
        lat.push(now() - rec.sent);
    }, tokens, 'orders/*');
    console.log(`${streams.length} subscribers, one identity each, subscribed`);
    const cpu0 = serverPid ? cpuSeconds(serverPid) : 0;
    for (let e = 0; e < EVENTS; e++) {
        const owner = ids[(e * 7919) % ids.length];
        const r = await request('POST', '/api/collections/orders/records', { owner, sent: now() }, token);
        if (r.status !== 200) throw new Error(`create: ${r.status} ${r.text}`);
        await new Promise((res) => setTimeout(res, 200));
    }
    const end = Date.now() + 30000;
    while (lat.length < EVENTS && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    const cpu = serverPid ? cpuSeconds(serverPid) - cpu0 : 0;
    lat.sort((a, b) => a - b);
    console.log(`deliveries: ${lat.length} of ${EVENTS} (each event reaches its owner only)`);
    console.log(`owner's delivery latency ms: p50 ${pct(lat, 50).toFixed(2)}, p99 ${pct(lat, 99).toFixed(2)}, ` +
        `max ${lat[lat.length - 1].toFixed(2)}`);
    if (serverPid) {
        console.log(`server CPU per event (${SUBS} rule checks): ${((cpu * 1000) / EVENTS).toFixed(1)} ms = ` +
            `${((cpu * 1e6) / EVENTS / SUBS).toFixed(2)} us per subscriber checked`);
    }
    for (const s of streams) s.sock.destroy();
} else if (mode === 'idle') {
    const pid = Number(fifth);
    const before = rssKiB(pid);
    const t0 = Date.now();
    const streams = await connectAll(() => {});
    await new Promise((res) => setTimeout(res, 2000));
    const after = rssKiB(pid);
    console.log(`${streams.length} idle subscribers in ${Date.now() - t0} ms; server RSS ${before} KiB -> ${after} KiB: ` +
        `${Math.round(((after - before) * 1024) / streams.length)} bytes per subscriber`);
    for (const s of streams) s.sock.destroy();
} else {
    console.error('usage: rt_fanout.mjs fanout|idle URL TOKEN SUBS EVENTS|PID');
    process.exit(2);
}
for (const a of agents) a.destroy();
