// A small S3 server for the tests, written from AWS's documentation (no npm
// S3 server: the ones there check no signature, and tarmac's must be right).
//
// It keeps objects in memory and answers the REST operations tarmac uses:
// PutObject, GetObject (one Range), HeadObject, DeleteObject, ListObjectsV2
// (with continuation tokens; pageSize makes pages small to test them) and
// DeleteObjects (which needs Content-MD5, as S3 does). Buckets are reached
// path-style (/bucket/key) or virtual-host style (Host: bucket.localhost).
//
// Every request must carry a valid AWS Signature Version 4 (Authorization
// header, "Signing AWS API requests" / "Create a signed AWS API request" in
// the IAM user guide): the canonical request is rebuilt here from what came
// on the wire (method, URI-encoded path, sorted and re-encoded query,
// the signed headers with trimmed values, x-amz-content-sha256 as the
// payload hash) and the signature compared; a mismatch answers 403
// SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId, as S3 does.
// A payload hash other than UNSIGNED-PAYLOAD must match the body
// (XAmzContentSHA256Mismatch).

import http from 'node:http';
import { createHash, createHmac } from 'node:crypto';

const sha256hex = (b) => createHash('sha256').update(b).digest('hex');
const hmac = (key, s) => createHmac('sha256', key).update(s).digest();

/** AWS's URI encoding: unreserved characters stay, everything else %XX upper case. */
export function awsEncode(s, keepSlash) {
    let out = '';
    for (const byte of Buffer.from(s, 'utf8')) {
        const ch = String.fromCharCode(byte);
        if (/[A-Za-z0-9\-_.~]/.test(ch) || (keepSlash && ch === '/')) out += ch;
        else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
    return out;
}

function xmlEscape(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function xmlUnescape(s) {
    return s.replace(/&(lt|gt|quot|apos|amp|#x?[0-9a-fA-F]+);/g, (m, e) => {
        if (e === 'lt') return '<';
        if (e === 'gt') return '>';
        if (e === 'quot') return '"';
        if (e === 'apos') return "'";
        if (e === 'amp') return '&';
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    });
}

/**
 * Starts the fake. opts: {bucket, region, accessKey, secret, pageSize}.
 * Returns {url, port, objects: Map(key -> {body, type, mtime}), requests: [...],
 *          setSecret(s), stop(), reset()}.
 */
export async function startFakeS3(opts = {}) {
    const fake = {
        bucket: opts.bucket || 'tarmac-test',
        region: opts.region || 'us-east-1',
        accessKey: opts.accessKey || 'AKIDTARMACTEST',
        secret: opts.secret || 'fake-secret-0123456789',
        pageSize: opts.pageSize || 1000,
        objects: new Map(),
        requests: [], // {method, key, query, range, status}
        failNext: 0, // answer this many requests with 500 InternalError
        url: '',
        port: 0,
    };

    const reply = (res, status, code, message, extra = {}) => {
        const body = code
            ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>` +
              `<RequestId>fake</RequestId></Error>`
            : '';
        res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), ...extra });
        res.end(body);
    };

    /** '' when req is signed right, else [status, code, message]. */
    const verify = (req, rawPath, rawQuery, body) => {
        const auth = req.headers.authorization || '';
        const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
        if (!m) return [403, 'AccessDenied', 'No AWS Signature Version 4 Authorization header'];
        const [, key, day, region, signedList, signature] = m;
        if (key !== fake.accessKey) return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
        if (region !== fake.region) return [400, 'AuthorizationHeaderMalformed', `the region '${region}' is wrong; expecting '${fake.region}'`];
        const amzDate = req.headers['x-amz-date'] || '';
        if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== day) return [403, 'AccessDenied', 'bad X-Amz-Date'];
        const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
            +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
        if (Math.abs(Date.now() - when) > 15 * 60 * 1000) return [403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'];
        const payload = req.headers['x-amz-content-sha256'];
        if (!payload) return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
        if (payload !== 'UNSIGNED-PAYLOAD' && payload !== sha256hex(body)) {
            return [400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.'];
        }
        const signed = signedList.split(';');
        for (const must of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
            if (!signed.includes(must)) return [403, 'AccessDenied', `${must} must be signed`];
        }
        // The canonical request, rebuilt from the wire.
        const uri = rawPath.split('/').map((seg) => awsEncode(decodeURIComponent(seg), false)).join('/');
        const pairs = rawQuery ? rawQuery.split('&').filter(Boolean).map((p) => {
            const i = p.indexOf('=');
            const k = decodeURIComponent((i < 0 ? p : p.slice(0, i)).replace(/\+/g, ' '));
            const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, ' '));
            return [awsEncode(k, false), awsEncode(v, false)];
        }) : [];
        pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        const query = pairs.map(([k, v]) => `${k}=${v}`).join('&');
        const headers = signed.map((h) => {
            const v = req.headers[h];
            if (v === undefined) return null;
            return `${h}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
        });
        if (headers.includes(null)) return [403, 'AccessDenied', `a signed header is missing (${signedList})`];
        const canonical = [req.method, uri, query, headers.join(''), signedList, payload].join('\n');
        const scope = `${day}/${region}/s3/aws4_request`;
        const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
        let k = hmac('AWS4' + fake.secret, day);
        k = hmac(k, region);
        k = hmac(k, 's3');
        k = hmac(k, 'aws4_request');
        const want = createHmac('sha256', k).update(toSign).digest('hex');
        if (want !== signature) {
            return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'];
        }
        return '';
    };

    const list = (res, q) => {
        const prefix = q.get('prefix') || '';
        const after = q.get('continuation-token') || q.get('start-after') || '';
        const max = Math.min(Number(q.get('max-keys') || 1000), fake.pageSize);
        const keys = [...fake.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
        const page = keys.slice(0, max);
        const truncated = keys.length > page.length;
        const items = page.map((k) => {
            const o = fake.objects.get(k);
            return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.mtime.toISOString()}</LastModified>` +
                `<ETag>"${createHash('md5').update(o.body).digest('hex')}"</ETag><Size>${o.body.length}</Size>` +
                '<StorageClass>STANDARD</StorageClass></Contents>';
        }).join('');
        const body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
            `<Name>${fake.bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount>` +
            `<MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
            (truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1])}</NextContinuationToken>` : '') +
            items + '</ListBucketResult>';
        res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
    };

    const deleteMany = (req, res, body) => {
        const md5 = createHash('md5').update(body).digest('base64');
        if (req.headers['content-md5'] !== md5) {
            return reply(res, 400, 'InvalidRequest', 'Missing required header for this request: Content-Md5');
        }
        const xml = body.toString('utf8');
        const keys = [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => xmlUnescape(m[1]));
        if (keys.length > 1000) return reply(res, 400, 'MalformedXML', 'more than 1000 keys');
        const quiet = /<Quiet>true<\/Quiet>/.test(xml);
        for (const k of keys) fake.objects.delete(k);
        const out = '<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult>' +
            (quiet ? '' : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('')) + '</DeleteResult>';
        res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(out) });
        res.end(out);
    };

    const getObject = (req, res, key, isHead) => {
        const o = fake.objects.get(key);
        if (!o) return isHead ? reply(res, 404, '', '') : reply(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        const size = o.body.length;
        const base = { 'Content-Type': o.type, 'Last-Modified': o.mtime.toUTCString(), 'Accept-Ranges': 'bytes',
            ETag: `"${createHash('md5').update(o.body).digest('hex')}"` };
        const range = req.headers.range;
        let start = 0;
        let end = size - 1;
        let status = 200;
        if (range && !isHead) {
            const m = /^bytes=(\d*)-(\d*)$/.exec(range);
            if (m && (m[1] !== '' || m[2] !== '')) {
                if (m[1] === '') { // suffix
                    const n = Number(m[2]);
                    start = Math.max(0, size - n);
                } else {
                    start = Number(m[1]);
                    if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
                }
                if (start >= size || (m[1] === '' && Number(m[2]) === 0)) {
                    return reply(res, 416, 'InvalidRange', 'The requested range is not satisfiable',
                        { 'Content-Range': `bytes */${size}` });
                }
                status = 206;
            }
        }
        const part = o.body.subarray(start, end + 1);
        const h = { ...base, 'Content-Length': isHead ? size : part.length };
        if (status === 206) h['Content-Range'] = `bytes ${start}-${end}/${size}`;
        res.writeHead(status, h);
        res.end(isHead ? undefined : part);
    };

    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            const qi = req.url.indexOf('?');
            const rawPath = qi < 0 ? req.url : req.url.slice(0, qi);
            const rawQuery = qi < 0 ? '' : req.url.slice(qi + 1);
            const q = new URLSearchParams(rawQuery);
            // path-style /bucket/key or virtual-host bucket.<host>
            const host = String(req.headers.host || '').replace(/:\d+$/, '');
            let bucket;
            let keyPath;
            if (host.startsWith(fake.bucket + '.')) {
                bucket = fake.bucket;
                keyPath = rawPath.slice(1);
            } else {
                const parts = rawPath.slice(1).split('/');
                bucket = decodeURIComponent(parts.shift() || '');
                keyPath = parts.join('/');
            }
            const key = decodeURIComponent(keyPath);
            const entry = { method: req.method, key, query: rawQuery, range: req.headers.range || '', status: 0 };
            fake.requests.push(entry);
            const send = (status, ...rest) => { entry.status = status; return reply(res, status, ...rest); };
            const bad = verify(req, rawPath, rawQuery, body);
            if (bad) return send(...bad);
            if (bucket !== fake.bucket) return send(404, 'NoSuchBucket', 'The specified bucket does not exist');
            if (fake.failNext > 0) {
                fake.failNext--;
                return send(500, 'InternalError', 'We encountered an internal error. Please try again.');
            }
            entry.status = 200;
            if (req.method === 'PUT' && key) {
                fake.objects.set(key, { body, type: req.headers['content-type'] || 'binary/octet-stream', mtime: new Date(Math.floor(Date.now() / 1000) * 1000) });
                res.writeHead(200, { ETag: `"${createHash('md5').update(body).digest('hex')}"`, 'Content-Length': 0 });
                return res.end();
            }
            if ((req.method === 'GET' || req.method === 'HEAD') && key) return getObject(req, res, key, req.method === 'HEAD');
            if (req.method === 'DELETE' && key) {
                fake.objects.delete(key);
                res.writeHead(204);
                return res.end();
            }
            if (req.method === 'GET' && !key && q.get('list-type') === '2') return list(res, q);
            if (req.method === 'POST' && !key && q.has('delete')) return deleteMany(req, res, body);
            return send(400, 'NotImplemented', `the fake does not do ${req.method} ${req.url}`);
        });
    });
    await new Promise((res) => server.listen(0, '127.0.0.1', res));
    fake.port = server.address().port;
    fake.url = `http://127.0.0.1:${fake.port}`;
    const sockets = new Set();
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    fake.stop = () => new Promise((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
    });
    /** Listens again on the same port after stop(). */
    fake.restart = () => new Promise((res) => server.listen(fake.port, '127.0.0.1', res));
    /** The settings.s3 object that points tarmac here. */
    fake.settings = (over = {}) => ({
        enabled: true, bucket: fake.bucket, region: fake.region, endpoint: fake.url,
        accessKey: fake.accessKey, secret: fake.secret, forcePathStyle: true, ...over,
    });
    return fake;
}
