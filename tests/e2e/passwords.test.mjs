// Password fields on any collection (issue #11, spec §5.3) through the JS SDK:
// what the database holds (read beside the server: lib/db.mjs, SQLite or
// PostgreSQL),
// what realtime events, expand and batch results carry, and what happens to
// plain values an older tarmac stored (hashed once when the data directory is
// opened).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { startServer } from './lib/server.mjs';
import { dbQuery, IS_PG } from './lib/db.mjs';
import {
    client, superuserClient, expectError, assertFieldCode, assertNoLeaks, uniq, SLOW,
} from './lib/util.mjs';

globalThis.EventSource = EventSource;

const WAIT_MS = 10000 * SLOW;
const PHC_RE = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;
const PW_FIELDS = ['f', 'pin'];

/** Runs a query on dir's database (lib/db.mjs: SQLite or PostgreSQL). */
const sql = dbQuery;

function stored(dir, table, id, col) {
    const rows = sql(dir, `SELECT "${col}" FROM "${table}" WHERE id = ?`, [id]);
    return rows.length ? rows[0][0] : undefined;
}

/** True when text appears in the database file or its WAL. SQLite only:
 * PostgreSQL keeps its pages in the cluster, where the stored value's check
 * (an argon2id hash) stands alone; said once in the output. */
let saidFileHolds = false;
function fileHolds(dir, text) {
    if (IS_PG) {
        if (!saidFileHolds) console.log('skipped on PostgreSQL: the checks of the bytes of SQLite\'s data.db');
        saidFileHolds = true;
        return false;
    }
    for (const name of ['data.db', 'data.db-wal']) {
        try {
            if (readFileSync(join(dir, name)).includes(Buffer.from(text))) return true;
        } catch { /* no WAL */ }
    }
    return false;
}

function assertHashed(dir, table, id, col, sent) {
    const v = stored(dir, table, id, col);
    assert.match(v ?? '', PHC_RE, `${table}.${col} holds ${JSON.stringify(v)}, want an argon2id hash`);
    assert.equal(fileHolds(dir, sent), false, `the sent value ${sent} is in the database file`);
    return v;
}

function assertNoPasswordFields(record, what) {
    for (const k of PW_FIELDS) assert.equal(k in record, false, `${what} carries ${k}`);
    assert.equal(JSON.stringify(record).includes('$argon2'), false, `${what} carries a hash`);
}

async function waitFor(list, pred, what) {
    const end = Date.now() + WAIT_MS;
    while (Date.now() < end) {
        if (pred(list)) return;
        await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(list)}`);
}

const VAULT = {
    name: 'vault', listRule: '', viewRule: '', createRule: '', updateRule: '', deleteRule: '',
    fields: [
        { name: 'label', type: 'text' },
        { name: 'f', type: 'password', min: 3 },
        { name: 'pin', type: 'password', min: 4, max: 6, pattern: '^[0-9]+$' },
    ],
};

describe('password fields', () => {
    let srv;
    let su;
    const opened = [];

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        const vault = await su.collections.create(VAULT);
        await su.collections.create({
            name: 'lockers', listRule: '', viewRule: '', createRule: '', updateRule: '',
            fields: [{ name: 'vault', type: 'relation', collectionId: vault.id, maxSelect: 1 }],
        });
    });
    after(async () => {
        for (const pb of opened) pb.realtime.unsubscribe().catch(() => {});
        if (srv && !srv.exited) await srv.kill9();
    });

    test('{"f":"ab"} with min 3 is refused; a valid value is stored as an argon2id hash', async () => {
        const pb = client(srv.url);
        const body = await expectError(pb.collection('vault').create({ label: 'short', f: 'ab' }), 400);
        assertFieldCode(body, 'f', 'validation_min_text_constraint');
        assert.deepEqual(sql(srv.dir, "SELECT id FROM vault WHERE label = 'short'"), []);

        const sent = uniq('plain-');
        const rec = await pb.collection('vault').create({ label: 'ok', f: sent, pin: '2468' });
        assertNoPasswordFields(rec, 'the create answer');
        assertHashed(srv.dir, 'vault', rec.id, 'f', sent);
        assertNoPasswordFields(await su.collection('vault').getOne(rec.id), 'a superuser view');
        for (const r of await su.collection('vault').getFullList()) assertNoPasswordFields(r, 'a list item');
    });

    test('an update keeps the hash unless a new value is sent', async () => {
        const pb = client(srv.url);
        const rec = await pb.collection('vault').create({ label: 'u', f: uniq('first-') });
        const first = stored(srv.dir, 'vault', rec.id, 'f');
        assertNoPasswordFields(await pb.collection('vault').update(rec.id, { label: 'u2' }), 'update');
        assert.equal(stored(srv.dir, 'vault', rec.id, 'f'), first, 'absent value changed the hash');
        await pb.collection('vault').update(rec.id, { f: '' });
        assert.equal(stored(srv.dir, 'vault', rec.id, 'f'), first, 'empty value changed the hash');
        const err = await expectError(pb.collection('vault').update(rec.id, { f: first }), 400);
        assertFieldCode(err, 'f', 'validation_max_text_constraint');
        assert.equal(stored(srv.dir, 'vault', rec.id, 'f'), first, 'a hash was taken as given');
        const sent = uniq('second-');
        await pb.collection('vault').update(rec.id, { f: sent });
        const second = assertHashed(srv.dir, 'vault', rec.id, 'f', sent);
        assert.notEqual(second, first);
    });

    test('a guest may neither filter nor sort by a password field', async () => {
        const pb = client(srv.url);
        await expectError(pb.collection('vault').getList(1, 10, { filter: "f != ''" }), 400);
        await expectError(pb.collection('vault').getList(1, 10, { sort: '-pin' }), 400);
        await expectError(pb.collection('lockers').getList(1, 10, { filter: "vault.f != ''" }), 400);
    });

    test('realtime events and expand never carry the value or its hash', async () => {
        const guest = client(srv.url);
        opened.push(guest, su);
        const got = [];
        const gotSu = [];
        const gotLockers = [];
        await guest.collection('vault').subscribe('*', (e) => got.push(e));
        await su.collection('vault').subscribe('*', (e) => gotSu.push(e));
        await guest.collection('lockers').subscribe('*', (e) => gotLockers.push(e), { expand: 'vault' });
        const sent = uniq('live-');
        const rec = await guest.collection('vault').create({ label: 'live', f: sent, pin: '1357' });
        await guest.collection('vault').update(rec.id, { f: uniq('live2-') });
        const locker = await guest.collection('lockers').create({ vault: rec.id }, { expand: 'vault' });
        assertNoPasswordFields(locker.expand.vault, 'an expanded record');
        assertNoPasswordFields((await guest.collection('lockers').getOne(locker.id, { expand: 'vault' }))
            .expand.vault, 'an expanded record');
        await guest.collection('vault').delete(rec.id);
        await waitFor(got, (l) => l.length >= 3, 'create, update, delete');
        await waitFor(gotSu, (l) => l.length >= 3, 'the superuser\'s events');
        await waitFor(gotLockers, (l) => l.length >= 1, 'the locker event');
        for (const e of [...got, ...gotSu]) assertNoPasswordFields(e.record, `a ${e.action} event`);
        assert.equal(gotLockers[0].record.expand.vault.id, rec.id);
        assertNoPasswordFields(gotLockers[0].record.expand.vault, 'an expanded record in an event');
        await guest.realtime.unsubscribe();
        await su.realtime.unsubscribe();
    });

    test('a guest\'s realtime filter on a password field matches nothing', async () => {
        const guest = client(srv.url);
        opened.push(guest);
        const filtered = [];
        const all = [];
        await guest.collection('vault').subscribe('*', (e) => filtered.push(e), { filter: "f != ''" });
        await guest.collection('vault').subscribe('*', (e) => all.push(e));
        await guest.collection('vault').create({ label: 'oracle', f: uniq('oracle-') });
        await waitFor(all, (l) => l.length >= 1, 'the unfiltered event');
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(filtered, [], 'a filter on a password field matched');
        await guest.realtime.unsubscribe();
    });

    test('a batch create hashes the value and its result leaves it out', async () => {
        const pb = client(srv.url);
        const sent = uniq('batch-');
        const b = pb.createBatch();
        b.collection('vault').create({ label: 'batched', f: sent });
        const res = await b.send();
        assert.equal(res[0].status, 200);
        assertNoPasswordFields(res[0].body, 'a batch result');
        assertHashed(srv.dir, 'vault', res[0].body.id, 'f', sent);
    });

    test('no response contained password, tokenKey or a password hash', () => assertNoLeaks());

    test('the server exits 0 on SIGTERM', async () => {
        await srv.stop();
    });
});

describe('plain values an older tarmac stored', () => {
    test('are hashed once when the data directory is opened', async () => {
        // Our own directory: stop() keeps it, so the server can be stopped and reopened.
        const dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-'));
        let srv = await startServer({ dir, superuser: true });
        try {
            const su = await superuserClient(srv.url);
            await su.collections.create(VAULT);
            await su.collections.create({
                name: 'members', type: 'auth', createRule: '',
                fields: [{ name: 'pin', type: 'password', min: 4 }],
            });
            const v = await su.collection('vault').create({ label: 'old', f: 'placeholder' });
            const email = `${uniq('m')}@example.com`;
            const m = await su.collection('members').create({
                email, password: 'memberpass1', passwordConfirm: 'memberpass1', pin: '0000',
            });
            await srv.stop();

            // What a database written before the fix looks like: the values as
            // sent, and no record of the upgrade.
            const oldF = uniq('legacy-');
            const oldPin = String(1000 + Math.floor(Math.random() * 8999));
            sql(dir, 'UPDATE vault SET f = ? WHERE id = ?', [oldF, v.id], true);
            sql(dir, 'UPDATE members SET pin = ? WHERE id = ?', [oldPin, m.id], true);
            sql(dir, "DELETE FROM _params WHERE id = 'tarmac.dataVersion'", [], true);

            srv = await startServer({ dir });
            assert.match(stored(dir, 'vault', v.id, 'f'), PHC_RE, 'vault.f still plain after opening');
            const pinHash = stored(dir, 'members', m.id, 'pin');
            assert.match(pinHash, PHC_RE, 'members.pin still plain after opening');
            assert.equal(srv.stderr().includes('hashed plain-text password field values'), true,
                'the upgrade is logged');
            // The hash is argon2id of the old value: as the login password it logs in.
            sql(dir, 'UPDATE members SET password = ? WHERE id = ?', [pinHash, m.id], true);
            const pb = client(srv.url);
            const auth = await pb.collection('members').authWithPassword(email, oldPin);
            assertNoPasswordFields(auth.record, 'the auth response');
            await srv.stop();
            // secure_delete: the old value does not linger in the file's free space.
            assert.equal(fileHolds(dir, oldF), false, 'the old value is still in the file');
            // Once done, opening again changes nothing.
            const hashed = stored(dir, 'vault', v.id, 'f');
            srv = await startServer({ dir });
            assert.equal(srv.stderr().includes('hashed plain-text password field values'), false);
            assert.equal(stored(dir, 'vault', v.id, 'f'), hashed);
            await srv.stop();
        } finally {
            if (!srv.exited) await srv.kill9();
            if (!process.env.TARMAC_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
        }
    });

    test('no response contained password, tokenKey or a password hash', () => assertNoLeaks());
});
