// produce_tarmac.mjs -- the record changes of bench/jobs.sh for tarmac: N
// creates of posts, each a committed write whose webhook job is in the same
// transaction; at RATE per second (0: as fast as CONC connections go). Writes
// "recordId committed_us" per create (the time its 200 arrived: the commit is
// done) to OUTFILE.
//   node produce_tarmac.mjs URL N RATE CONC OUTFILE
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const [url, n, rate, conc, out] = [process.argv[2], +process.argv[3], +process.argv[4],
    +process.argv[5], process.argv[6]];
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const agent = new http.Agent({ keepAlive: true, maxSockets: conc });
const lines = [];
let sent = 0, done = 0, failed = 0;
const body = JSON.stringify({ title: 'hello from the benchmark' });

function one() {
    return new Promise((resolve) => {
        const req = http.request(url + '/api/collections/posts/records', {
            method: 'POST', agent,
            headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const at = now();
                if (res.statusCode === 200) {
                    lines.push(`${JSON.parse(Buffer.concat(chunks).toString()).id} ${at}`);
                } else {
                    failed++;
                }
                done++;
                resolve();
            });
        });
        req.on('error', () => { failed++; done++; resolve(); });
        req.end(body);
    });
}

const start = performance.now();
if (rate > 0) {
    // open loop: one request every 1/rate s, whatever the answers do
    await new Promise((resolve) => {
        const tick = () => {
            const due = Math.min(n, Math.floor((performance.now() - start) * rate / 1000));
            while (sent < due) { sent++; one().then(() => { if (done === n) resolve(); }); }
            if (sent < n) setTimeout(tick, 1);
        };
        tick();
    });
} else {
    await Promise.all(Array.from({ length: conc }, async () => {
        while (sent < n) { sent++; await one(); }
    }));
}
writeFileSync(out, lines.join('\n') + '\n');
console.log(JSON.stringify({ created: lines.length, failed, seconds: (performance.now() - start) / 1000 }));
