// GET /api/docs/openapi.json (issue #14): the OpenAPI 3.1 document generated
// from the live schema. Checked by tools we did not write: Redocly's linter
// and swagger-parser validate it, and Ajv (JSON Schema 2020-12, the dialect
// of OpenAPI 3.1) checks real answers the SDK got against the record schemas.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startServer } from './lib/server.mjs';
import { client, superuserClient, makeUser, rawFetch } from './lib/util.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const EVERY_TYPE = [
    { name: 'title', type: 'text', min: 1, max: 100, required: true },
    { name: 'count', type: 'number', onlyInt: true, min: 0 },
    { name: 'flag', type: 'bool' },
    { name: 'mail', type: 'email' },
    { name: 'site', type: 'url' },
    { name: 'body', type: 'editor' },
    { name: 'due', type: 'date' },
    { name: 'made', type: 'autodate', onCreate: true },
    { name: 'tags', type: 'select', values: ['a', 'b', 'c'], maxSelect: 2 },
    { name: 'kind', type: 'select', values: ['x', 'y'], maxSelect: 1 },
    { name: 'meta', type: 'json' },
    { name: 'files', type: 'file', maxSelect: 3 },
    { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    { name: 'pin', type: 'password' },
    { name: 'where', type: 'geoPoint' },
    { name: 'note', type: 'text', hidden: true },
];

async function doc(url, token) {
    const r = await rawFetch(`${url}/api/docs/openapi.json`, token ? { headers: { Authorization: token } } : {});
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    return r.body;
}

function lint(document) {
    const dir = mkdtempSync(join(tmpdir(), 'oas-'));
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    return new Promise((resolve) => {
        execFile(join(here, 'node_modules', '.bin', 'redocly'), ['lint', '--format=stylish', file],
            { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
            (err, stdout, stderr) => {
                rmSync(dir, { recursive: true, force: true });
                resolve({ code: err ? err.code : 0, out: stdout + stderr });
            });
    });
}

describe('OpenAPI document', () => {
    let srv;
    let su;
    let user;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        user = await makeUser(su, srv.url, { name: 'Docs' });
        await su.collections.create({
            name: 'every_type', listRule: '', viewRule: '', createRule: '', fields: EVERY_TYPE,
        });
        await su.collections.create({ name: 'locked_away', fields: [{ name: 't', type: 'text' }] });
        await su.collections.create({
            name: 'members', type: 'auth', listRule: 'id = @request.auth.id', fields: [{ name: 'nick', type: 'text' }],
        });
        await su.collections.create({
            name: 'every_stats', type: 'view', listRule: '', viewRule: '',
            viewQuery: "SELECT id, title, count, tags, meta, owner, title || '!' AS shout, count(id) AS n FROM every_type GROUP BY id",
        });
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('the superuser document passes Redocly lint and swagger-parser', async () => {
        const d = await doc(srv.url, su.authStore.token);
        assert.equal(d.openapi, '3.1.0');
        const { code, out } = await lint(d);
        assert.equal(code, 0, out);
        assert.match(out, /valid/i);
        await SwaggerParser.validate(structuredClone(d));
    });

    test('every collection has its schemas and paths; the rules are described', async () => {
        const d = await doc(srv.url, su.authStore.token);
        for (const name of ['EveryTypeRecord', 'EveryTypeCreate', 'EveryTypeUpdate', 'MembersRecord', 'LockedAwayRecord', 'UsersRecord']) {
            assert.ok(d.components.schemas[name], name);
        }
        const rec = d.components.schemas.EveryTypeRecord;
        assert.deepEqual(rec.properties.tags.items.enum, ['', 'a', 'b', 'c']);
        assert.equal(rec.properties.tags.type, 'array');
        assert.deepEqual(rec.properties.kind.enum, ['', 'x', 'y']);
        assert.equal(rec.properties.count.anyOf[1].type, 'integer', 'not required: 0 or a value in range');
        assert.equal(rec.properties.mail.anyOf[1].format, 'email');
        assert.equal(rec.properties.title.maxLength, 100);
        assert.equal(rec.properties.pin, undefined, 'a password is never in a record');
        assert.ok(rec.properties.note, 'hidden fields are in the superuser document');
        assert.equal(d.components.schemas.EveryTypeCreate.properties.pin.writeOnly, true);
        assert.ok(d.paths['/api/collections/every_type/records'].get);
        assert.ok(d.paths['/api/collections/every_type/records/{id}'].patch);
        assert.ok(d.paths['/api/collections/members/auth-with-password'].post);
        assert.equal(d.paths['/api/collections/every_type/records/auth-with-password'], undefined);
        assert.match(d.paths['/api/collections/members/records'].get.description, /id = @request\.auth\.id/);
        assert.match(d.paths['/api/collections/locked_away/records'].get.description, /superusers only/);
        // Every collection, also one created after the document was read or
        // named by id, answers the generic routes; concrete paths come first.
        assert.ok(d.paths['/api/collections/{collection}/records'].get);
        assert.ok(d.paths['/api/collections/{collection}/records/{id}'].delete);
        assert.ok(d.paths['/api/collections/{collection}/auth-with-password'].post);
        assert.equal(d.paths['/api/collections/{collection}/records'].parameters[0].name, 'collection');
        assert.equal(d.components.schemas.Record.type, 'object');
        assert.ok(d.paths['/api/docs'].get.responses['200'].content['text/html']);
        assert.deepEqual(d.paths['/api/docs/types'].get.parameters[0].schema.enum, ['ts', 'dart']);
        // A view collection is read-only: a record schema, its writes documented as refused.
        assert.ok(d.components.schemas.EveryStatsRecord.properties.n);
        assert.equal(d.components.schemas.EveryStatsCreate, undefined);
        assert.equal(d.components.schemas.EveryStatsUpdate, undefined);
        const viewPost = d.paths['/api/collections/every_stats/records'].post;
        assert.match(viewPost.summary, /read-only/);
        assert.equal(viewPost.requestBody, undefined);
        assert.deepEqual(Object.keys(viewPost.responses).sort(), ['400', '404']);
        assert.match(d.paths['/api/collections/every_stats/records/{id}'].delete.summary, /read-only/);
        assert.ok(d.paths['/api/collections/every_stats/records/{id}'].get.responses['200']);
        const ids = Object.values(d.paths).flatMap((item) => Object.values(item).map((o) => o.operationId)).filter(Boolean);
        assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    });

    test('a guest or a user sees only the collections they may list, no hidden fields', async () => {
        for (const token of [null, user.pb.authStore.token]) {
            const d = await doc(srv.url, token);
            assert.equal(d.components.schemas.LockedAwayRecord, undefined);
            assert.equal(d.paths['/api/collections/locked_away/records'], undefined);
            assert.equal(d.components.schemas.SuperusersRecord, undefined);
            assert.ok(d.components.schemas.EveryTypeRecord);
            assert.equal(d.components.schemas.EveryTypeRecord.properties.note, undefined);
            const { code, out } = await lint(d);
            assert.equal(code, 0, out);
        }
    });

    test('real answers conform to the record schemas (Ajv, JSON Schema 2020-12)', async () => {
        const d = await SwaggerParser.dereference(structuredClone(await doc(srv.url, su.authStore.token)));
        const ajv = new Ajv2020({ strict: false, allErrors: true });
        addFormats(ajv);
        const guest = client(srv.url);
        const created = await guest.collection('every_type').create({
            title: 'hello', count: 3, flag: true, mail: 'a@b.example', site: 'https://x.example/',
            body: '<p>x</p>', due: '2026-01-02 03:04:05.000Z', tags: ['a', 'c'], kind: 'y',
            meta: { any: [1, 'two'] }, owner: user.record.id, pin: 'secret-pin-1', where: { lon: 1.5, lat: -2 },
            note: 'n',
        });
        const empty = await guest.collection('every_type').create({ title: 'x' });
        const check = ajv.compile(d.components.schemas.EveryTypeRecord);
        for (const r of [created, empty, ...(await guest.collection('every_type').getFullList())]) {
            assert.ok(check(r), `${JSON.stringify(r)}: ${ajv.errorsText(check.errors)}`);
        }
        const checkView = ajv.compile(d.components.schemas.EveryStatsRecord);
        for (const r of await guest.collection('every_stats').getFullList()) {
            assert.ok(checkView(r), `${JSON.stringify(r)}: ${ajv.errorsText(checkView.errors)}`);
        }
        const listSchema = d.paths['/api/collections/every_type/records'].get.responses['200'].content['application/json'].schema;
        const list = await rawFetch(`${srv.url}/api/collections/every_type/records?perPage=5`);
        const checkList = ajv.compile(listSchema);
        assert.ok(checkList(list.body), ajv.errorsText(checkList.errors));
        const auth = await user.pb.collection('users').authRefresh();
        const authSchema = d.paths['/api/collections/users/auth-refresh'].post.responses['200'].content['application/json'].schema;
        const checkAuth = ajv.compile(authSchema);
        assert.ok(checkAuth({ token: auth.token, record: auth.record }), ajv.errorsText(checkAuth.errors));
        const bad = await rawFetch(`${srv.url}/api/collections/every_type/records?filter=${encodeURIComponent('nope = 1')}`);
        const checkErr = ajv.compile(d.components.schemas.Error);
        assert.equal(bad.status, 400);
        assert.ok(checkErr(bad.body), ajv.errorsText(checkErr.errors));
    });

    test('the request log\'s answers conform to /api/logs, /api/logs/{id} and /api/logs/stats', async () => {
        const d = await SwaggerParser.dereference(structuredClone(await doc(srv.url, su.authStore.token)));
        const ajv = new Ajv2020({ strict: false, allErrors: true });
        addFormats(ajv);
        const schema = (path) => d.paths[path].get.responses['200'].content['application/json'].schema;
        // A failed request (its entry has data.error), then one that succeeds.
        await rawFetch(`${srv.url}/api/collections/no_such_docs/records`);
        await su.collection('every_type').getList(1, 1);
        await new Promise((r) => setTimeout(r, 500)); // written within ~100 ms
        for (const path of ['/api/logs', '/api/logs/stats', '/api/logs/{id}']) {
            assert.deepEqual(d.paths[path].get.security, [{ token: [] }], path);
        }
        const list = await su.logs.getList(1, 50, { filter: 'data.url ~ "/api/collections/"' });
        assert.ok(list.items.some((i) => i.data.status >= 400 && i.data.error), JSON.stringify(list.items));
        const checkList = ajv.compile(schema('/api/logs'));
        assert.ok(checkList(list), ajv.errorsText(checkList.errors));
        const checkOne = ajv.compile(schema('/api/logs/{id}'));
        const one = await su.logs.getOne(list.items[0].id);
        assert.ok(checkOne(one), ajv.errorsText(checkOne.errors));
        const checkStats = ajv.compile(schema('/api/logs/stats'));
        const stats = await su.logs.getStats();
        assert.ok(stats.length > 0 && checkStats(stats), ajv.errorsText(checkStats.errors));
    });
});
