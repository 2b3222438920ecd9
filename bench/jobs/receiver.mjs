// receiver.mjs -- the webhook receiver of bench/jobs.sh: answers every POST
// with 200 and notes, per delivery, the job's key and its arrival time (wall
// clock, microseconds). The key is the record id of a tarmac webhook body
// ({"record": {"id"}}) or the "id" of a peer's body. GET /count answers how
// many arrived; SIGTERM writes "key arrival_us" lines to the file argv[3].
//   node receiver.mjs PORT OUTFILE
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const port = Number(process.argv[2]);
const out = process.argv[3];
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const keys = [];
const times = [];

const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
        res.end(String(keys.length));
        return;
    }
    const at = now();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        let key = '?';
        try {
            const body = JSON.parse(Buffer.concat(chunks).toString());
            key = (body.record && body.record.id) || body.id || '?';
        } catch { /* counted with key ? */ }
        keys.push(key);
        times.push(at);
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
    });
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
    writeFileSync(out, keys.map((k, i) => `${k} ${times[i]}`).join('\n') + '\n');
    process.exit(0);
});
