// bullmq_peer.mjs -- the BullMQ peer of bench/jobs.sh (npm bullmq, Redis):
// a worker whose job does what a tarmac webhook job does, one signed JSON
// POST to the receiver (retried with backoff), and a producer that adds N
// jobs at RATE per second (0: as fast as it can), writing "id sent_us" lines.
//   node bullmq_peer.mjs worker CONCURRENCY
//   node bullmq_peer.mjs produce N RATE OUTFILE
// Env: REDIS_PORT, TARGET (the receiver's URL), SECRET.
import { Queue, Worker } from 'bullmq';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT || 6379) };
const target = new URL(process.env.TARGET || 'http://127.0.0.1:9/hook');
const secret = process.env.SECRET || 'bench-secret';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function post(id) {
    const body = JSON.stringify({ id, event: 'create', collection: 'posts',
        record: { id, title: 'hello from the benchmark' } });
    const t = Math.floor(Date.now() / 1000);
    const sig = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    return new Promise((resolve, reject) => {
        const req = http.request(target, { method: 'POST', agent, headers: {
            'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
            'X-Signature': `t=${t},v1=${sig}`, 'X-Event-Id': id } }, (res) => {
            res.resume();
            res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.setTimeout(10000, () => req.destroy(new Error('timeout')));
        req.end(body);
    });
}

const [mode] = process.argv.slice(2);
if (mode === 'worker') {
    const concurrency = Number(process.argv[3] || 50);
    new Worker('deliver', async (job) => post(job.data.id), { connection, concurrency,
        removeOnComplete: { count: 1000 } });
} else if (mode === 'produce') {
    const [n, rate, out] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
    const queue = new Queue('deliver', { connection });
    const lines = [];
    const start = performance.now();
    const opts = { attempts: 10, backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: true };
    if (rate > 0) {
        for (let i = 0; i < n; i++) {
            const due = start + (i * 1000) / rate;
            const pause = due - performance.now();
            if (pause > 1) await new Promise((r) => setTimeout(r, pause));
            const id = `b${String(i).padStart(14, '0')}`;
            queue.add('deliver', { id }, opts).then(() => lines.push(`${id} ${now()}`));
        }
    } else {
        // as fast as it goes: batches of 100 adds in flight
        for (let i = 0; i < n; i += 100) {
            await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => {
                const id = `b${String(i + k).padStart(14, '0')}`;
                return queue.add('deliver', { id }, opts).then(() => lines.push(`${id} ${now()}`));
            }));
        }
    }
    while (lines.length < n) await new Promise((r) => setTimeout(r, 10));
    writeFileSync(out, lines.join('\n') + '\n');
    console.log(JSON.stringify({ created: n, seconds: (performance.now() - start) / 1000 }));
    await queue.close();
    process.exit(0);
}
