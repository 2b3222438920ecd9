// The fake push providers for bench/notify.sh, one process so one counter:
// FCM HTTP v1 (the OAuth2 token endpoint and messages:send, 200 with a
// message name, as Google answers) on PORT, and, given APNS_PORT and a
// certificate directory, APNs over HTTP/2 with TLS (200 with an apns-id, as
// Apple answers; the provider token's signature is not checked here, the
// e2e suite does that). GET /count on PORT answers how many sends arrived
// (both), /first and /last when, /apns how many were APNs', /conns the
// connections opened: FCM's (plain HTTP) and APNs' (TLS handshakes).
//   node fake_fcm.mjs PORT [APNS_PORT CERT_DIR]
import http from 'node:http';
import http2 from 'node:http2';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [port, apnsPort, certDir] = process.argv.slice(2);
let count = 0, first = 0, last = 0, apns = 0, conns = 0, tlsConns = 0;
const sent = () => {
    const now = Date.now();
    if (!count) first = now;
    count++;
    last = now;
};
http.createServer((req, res) => {
    if (req.method === 'GET') {
        const v = req.url === '/count' ? count : req.url === '/first' ? first : req.url === '/apns' ? apns
            : req.url === '/conns' ? `${conns} ${tlsConns}` : last;
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
        sent();
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`{"name":"projects/bench/messages/${count}"}`);
    });
}).on('connection', () => conns++).listen(Number(port), '127.0.0.1');

if (apnsPort) {
    // maxSessionMemory: node's default (10 MB) refuses streams
    // (REFUSED_STREAM) under a few hundred concurrent ones, which tarmac
    // then retries seconds later: the fake, not the sender, would set the pace.
    const server = http2.createSecureServer({ key: readFileSync(join(certDir, 'key.pem')),
        cert: readFileSync(join(certDir, 'cert.pem')), maxSessionMemory: 256,
        settings: { maxConcurrentStreams: 1000 } });
    server.on('stream', (stream, headers) => {
        stream.on('error', () => {}); // a stream reset by either side is not the fake's end
        stream.resume();
        stream.on('end', () => {
            const ok = headers[':method'] === 'POST' && headers[':path'].startsWith('/3/device/') &&
                /^bearer /.test(headers.authorization || '');
            if (ok) {
                sent();
                apns++;
            }
            // A 200 is headers only, ending the stream, as Apple answers
            if (ok) {
                stream.respond({ ':status': 200, 'apns-id': randomUUID() }, { endStream: true });
                return;
            }
            stream.respond({ ':status': 400, 'apns-id': randomUUID() });
            stream.end('{"reason":"BadRequest"}');
        });
    });
    server.on('secureConnection', () => tlsConns++);
    server.listen(Number(apnsPort), '127.0.0.1');
}
