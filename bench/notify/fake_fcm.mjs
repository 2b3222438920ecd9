// A fake FCM HTTP v1 for bench/notify.sh: the OAuth2 token endpoint and
// messages:send (200 with a message name, as Google answers), counting the
// sends; GET /count answers how many arrived, GET /first and /last when.
//   node fake_fcm.mjs PORT
import http from 'node:http';

const port = Number(process.argv[2]);
let count = 0, first = 0, last = 0;
http.createServer((req, res) => {
    if (req.method === 'GET') {
        const v = req.url === '/count' ? count : req.url === '/first' ? first : last;
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(String(v));
        return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        if (req.url === '/token') {
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end('{"access_token":"ya29.bench","expires_in":3600,"token_type":"Bearer"}');
            return;
        }
        const now = Date.now();
        if (!count) first = now;
        count++;
        last = now;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`{"name":"projects/bench/messages/${count}"}`);
    });
}).listen(port, '127.0.0.1');
