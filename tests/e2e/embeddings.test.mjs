// Embeddings computed for you (issue #18, item 2) through the JS SDK, on
// either engine (TARMAC_TEST_ENGINE): a collection's `embedding` option
// (a vector field filled from text fields) validated and kept, the
// settings' `embeddings` endpoint (its key never shown), and the `embed`
// job against a fake OpenAI-compatible provider written here: a create or
// an update of the text enqueues it (the request never waits), another
// edit does not; empty text clears the vector without a call; a provider
// failure is retried, a wrong answer is dead with its reason; the
// vectors it writes serve nearest searches.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, SLOW } from './lib/server.mjs';
import { superuserClient, expectError, assertNoLeaks, until } from './lib/util.mjs';

const DIMS = 6;
/** The fake provider's vector of a text: letter counts folded into DIMS, as float32. */
function embed(text) {
    const v = new Array(DIMS).fill(0);
    for (const ch of text.toLowerCase()) {
        const c = ch.charCodeAt(0);
        if (c >= 97 && c <= 122) v[(c - 97) % DIMS] += 1;
    }
    return v;
}

describe('embeddings', () => {
    let srv;
    let su;
    let provider;
    const calls = []; // { auth, body }
    let failNext = 0; // answer 503 to the next n calls
    let wrongDims = false;

    before(async () => {
        provider = http.createServer((req, res) => {
            const chunks = [];
            req.on('data', (c) => chunks.push(c));
            req.on('end', () => {
                const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
                calls.push({ path: req.url, auth: req.headers.authorization, body });
                if (failNext > 0) {
                    failNext--;
                    res.writeHead(503).end('busy');
                    return;
                }
                const v = embed(body.input);
                if (wrongDims) v.push(1);
                res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
                    object: 'list', model: body.model,
                    data: [{ object: 'embedding', index: 0, embedding: v }],
                    usage: { prompt_tokens: 1, total_tokens: 1 },
                }));
            });
        });
        await new Promise((r) => provider.listen(0, '127.0.0.1', r));
        srv = await startServer({ flags: ['--allow-private-network'] });
        su = await superuserClient(srv.url);
    });
    after(async () => {
        await srv?.stop();
        provider?.close();
        assertNoLeaks();
    });

    const providerUrl = () => `http://127.0.0.1:${provider.address().port}/v1/embeddings`;

    test('the settings hold the endpoint; the key is never shown', async () => {
        const s = await su.settings.update({
            embeddings: { url: providerUrl(), model: 'fake-embed-1', apiKey: 'sk-test-123' },
        });
        assert.equal(s.embeddings.url, providerUrl());
        assert.equal(s.embeddings.model, 'fake-embed-1');
        assert.equal(s.embeddings.apiKey, undefined);
        assert.equal((await su.settings.getAll()).embeddings.apiKey, undefined);
        const bad = await expectError(su.settings.update({ embeddings: { url: 'not a url' } }), 400);
        assert.ok(bad.data.embeddings?.url || bad.data['embeddings.url'], JSON.stringify(bad));
        const noModel = await expectError(su.settings.update({
            embeddings: { url: providerUrl(), model: '' },
        }), 400);
        assert.ok(JSON.stringify(noModel.data).includes('model'), JSON.stringify(noModel));
    });

    test('the embedding option is checked and kept', async () => {
        const base = {
            fields: [
                { name: 'title', type: 'text' }, { name: 'body', type: 'editor' },
                { name: 'n', type: 'number' }, { name: 'emb', type: 'vector', dimensions: DIMS },
            ],
        };
        const cases = [
            [{ field: 'title', source: ['body'] }, 'field'],
            [{ field: 'nope', source: ['title'] }, 'field'],
            [{ field: 'emb', source: ['n'] }, 'source'],
            [{ field: 'emb', source: [] }, 'source'],
            [{ field: 'emb', source: ['title', 'title'] }, 'source'],
            [{ field: 'emb', source: ['title'], provider: 'acme' }, 'provider'],
            [{ field: 'emb', source: ['title'], other: 1 }, 'other'],
            ['emb', ''],
        ];
        for (const [embedding, key] of cases) {
            const body = await expectError(su.collections.create({ name: 'bad_emb', ...base, embedding }),
                400, JSON.stringify(embedding));
            assert.ok(JSON.stringify(body.data).includes('embedding'), JSON.stringify(body));
            if (key) assert.ok(body.data.embedding?.[key] !== undefined, JSON.stringify(body));
        }
        const c = await su.collections.create({
            name: 'emb_opts', ...base, embedding: { field: 'emb', source: ['title', 'body'] },
        });
        assert.deepEqual(c.embedding, { field: 'emb', source: ['title', 'body'], provider: 'openai' });
        // a renamed source and vector field are followed; a removed source dropped
        const fields = c.fields.map((f) => (f.name === 'title' ? { ...f, name: 'heading' }
            : f.name === 'emb' ? { ...f, name: 'vec' } : f)).filter((f) => f.name !== 'body');
        const c2 = await su.collections.update(c.id, { fields });
        assert.deepEqual(c2.embedding, { field: 'vec', source: ['heading'], provider: 'openai' });
        // the vector field removed: the option goes with it
        const c3 = await su.collections.update(c.id, { fields: c2.fields.filter((f) => f.name !== 'vec') });
        assert.equal(c3.embedding, undefined);
        // null removes it
        const c4 = await su.collections.create({
            name: 'emb_opts2', ...base, embedding: { field: 'emb', source: ['title'] },
        });
        assert.equal((await su.collections.update(c4.id, { embedding: null })).embedding, undefined);
    });

    test('a write of the text enqueues the job; the vector follows', async () => {
        await su.collections.create({
            name: 'notes',
            listRule: '', viewRule: '', createRule: '', updateRule: '',
            fields: [
                { name: 'title', type: 'text' }, { name: 'body', type: 'text' },
                { name: 'n', type: 'number' }, { name: 'emb', type: 'vector', dimensions: DIMS },
            ],
            embedding: { field: 'emb', source: ['title', 'body'] },
        });
        const pb = su.collection('notes');
        const before = calls.length;
        const r = await pb.create({ title: 'Apple pie', body: 'with cinnamon' });
        assert.equal(r.emb, null, 'the create answers at once, before any vector');
        const got = await until('the vector', async () => (await pb.getOne(r.id)).emb);
        assert.deepEqual(got, embed('Apple pie\n\nwith cinnamon'));
        const call = calls[calls.length - 1];
        assert.equal(calls.length, before + 1);
        assert.equal(call.path, '/v1/embeddings');
        assert.equal(call.auth, 'Bearer sk-test-123');
        assert.equal(call.body.model, 'fake-embed-1');
        assert.equal(call.body.input, 'Apple pie\n\nwith cinnamon');
        // an edit of another field calls nobody
        await pb.update(r.id, { n: 5 });
        // a change of the text does
        await pb.update(r.id, { body: 'zzz' });
        const got2 = await until('the new vector', async () => {
            const e = (await pb.getOne(r.id)).emb;
            return e && e.join() === embed('Apple pie\n\nzzz').join() && e;
        });
        assert.ok(got2);
        assert.equal(calls.length, before + 2, 'the number edit made no call');
        // every source emptied: null, without a call
        await pb.update(r.id, { title: '', body: '' });
        await until('the vector cleared', async () => (await pb.getOne(r.id)).emb === null);
        assert.equal(calls.length, before + 2);
        // a record created without text is never sent
        await pb.create({ n: 1 });
        await new Promise((res) => setTimeout(res, 300 * SLOW));
        assert.equal(calls.length, before + 2);
    });

    test('the vectors serve nearest searches', async () => {
        const pb = su.collection('notes');
        const texts = ['aaaa bbb', 'ccc dddd', 'eeee ffff', 'aaab'];
        const ids = [];
        for (const t of texts) ids.push((await pb.create({ title: t })).id);
        await until('every vector', async () => {
            const all = await pb.getFullList({ filter: ids.map((id) => `id = '${id}'`).join(' || ') });
            return all.every((x) => x.emb);
        });
        const list = await pb.getList(1, 10, {
            nearest: 'emb', to: JSON.stringify(embed('aaaa')), k: 2, metric: 'cosine',
        });
        assert.deepEqual(list.items.map((x) => x.title).sort(), ['aaaa bbb', 'aaab']);
    });

    test('a failing provider is retried; a wrong answer is dead, with its reason', async () => {
        const pb = su.collection('notes');
        failNext = 1;
        const r = await pb.create({ title: 'retry me' });
        await until('the retried vector', async () => (await pb.getOne(r.id)).emb, 30000 * SLOW);
        wrongDims = true;
        const r2 = await pb.create({ title: 'wrong size' });
        const job = await until('a dead embed job', async () => {
            const jobs = await su.send('/api/jobs', { query: { filter: "kind = 'embed' && status = 'dead'" } });
            return (jobs.items || []).find((j) => j.payload?.record === r2.id);
        });
        assert.match(job.lastError, /dimensions/);
        wrongDims = false;
        assert.equal((await pb.getOne(r2.id)).emb, null);
    });
});
