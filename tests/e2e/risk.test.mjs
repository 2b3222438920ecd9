// Fraud and anomaly scoring (issue #19) through the SDK: a `_riskModels`
// record declares `payments` scored; `_riskRules` in the filter language over
// the record and @risk.<feature>; each create is scored in its transaction:
// windows counted exactly (edges, out-of-order times), the robust z-score,
// first devices, impossible travel blocked with a 400 that tells nothing,
// flags set and reviewers told, an allow rule overriding, and the scores and
// reasons visible to superusers only.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { superuserClient, makeUser, expectError, SLOW, until } from './lib/util.mjs';


const T0 = Date.parse('2026-11-02T10:00:00Z');
const at = (ms) => new Date(T0 + ms).toISOString().replace('T', ' ');
const MIN = 60000;
const HOUR = 60 * MIN;

describe('risk scoring', () => {
    let srv, su, reviewer;

    before(async () => {
        srv = await startServer({});
        su = await superuserClient(srv.url);
        const users = await su.collections.getOne('users');
        await su.collections.update(users.id, { fields: [...users.fields, { name: 'role', type: 'text' }] });
        await su.collections.create({ name: 'payments', type: 'base',
            createRule: '@request.auth.id != "" && user = @request.auth.id',
            listRule: 'user = @request.auth.id', viewRule: 'user = @request.auth.id', fields: [
                { name: 'user', type: 'relation', collectionId: users.id, maxSelect: 1 },
                { name: 'amount', type: 'number' },
                { name: 'at', type: 'date' },
                { name: 'where', type: 'geoPoint' },
                { name: 'device', type: 'text' },
                { name: 'flagged', type: 'bool', hidden: true }] });
        reviewer = await makeUser(su, srv.url, { role: 'credit_manager' });
    });

    after(async () => {
        if (srv && !srv.exited) await srv.stop();
    });

    const scoreOf = async (id) => (await su.collection('_riskScores').getFullList({ filter: `record = "${id}"` }))[0];

    test('models and rules are checked when saved', async () => {
        const model = { name: 'payments', collection: 'payments', user: 'user', amount: 'amount', time: 'at',
            location: 'where', device: 'device', flagField: 'flagged', reviewers: 'role = "credit_manager"', active: true };
        for (const [bad, field] of [[{ collection: 'nope' }, 'collection'], [{ user: 'amount' }, 'user'],
            [{ amount: 'device' }, 'amount'], [{ time: 'amount' }, 'time'], [{ location: 'at' }, 'location'],
            [{ flagField: 'amount' }, 'flagField'], [{ reviewers: 'rol = 1' }, 'reviewers']]) {
            const e = await expectError(su.collection('_riskModels').create({ ...model, ...bad }), 400);
            assert.ok(e.data[field], `${field}: ${JSON.stringify(e)}`);
        }
        await su.collection('_riskModels').create(model);
        const rule = { model: 'payments', name: 'x', expression: '@risk.count_1h > 5', score: 10, action: 'flag', active: true };
        for (const [bad, field] of [[{ model: 'nope' }, 'model'], [{ expression: '@risk.nope > 1' }, 'expression'],
            [{ expression: 'amont > 1' }, 'expression'], [{ action: 'shrug' }, 'action']]) {
            const e = await expectError(su.collection('_riskRules').create({ ...rule, ...bad }), 400);
            assert.ok(e.data[field], `${field}: ${JSON.stringify(e)}`);
        }
        const u = await makeUser(su, srv.url);
        await expectError(u.pb.collection('_riskRules').getFullList(), 403);
        await expectError(u.pb.collection('_riskScores').getFullList(), 403);
    });

    test('windows are exact at their edges and for events written out of order', async () => {
        const u = await makeUser(su, srv.url);
        const pay = (ms, amount = 100) => u.pb.collection('payments').create({ user: u.record.id, amount, at: at(ms) });
        const a = await pay(0);
        const b = await pay(30 * MIN);
        const c = await pay(HOUR);            // a is exactly 1 h before: counted
        const d = await pay(HOUR + 1);        // a is 1 h + 1 ms before: not counted
        const e = await pay(45 * MIN, 50);    // written last, earlier in time: c and d not counted
        const f = async (r) => (await scoreOf(r.id)).features;
        assert.deepEqual([(await f(a)).count_1h, (await f(b)).count_1h, (await f(c)).count_1h, (await f(d)).count_1h,
            (await f(e)).count_1h], [0, 1, 2, 2, 2]);
        assert.deepEqual([(await f(c)).sum_1h, (await f(e)).sum_1h], [200, 200]);
        assert.equal((await f(e)).history, 2);
        const late = await pay(7 * 24 * HOUR);  // a is exactly 7 days before
        assert.deepEqual([(await f(late)).count_7d, (await f(late)).count_24h], [5, 0]);
        // The score record is the superuser's; the user never sees it.
        const s = await scoreOf(c.id);
        assert.equal(s.user, u.record.id);
        assert.equal(s.action, 'allow');
        assert.ok(!('flagged' in c), 'the hidden flag field is not shown to its owner');
    });

    test('flag: amount outliers by robust z-score; the flag is set and the reviewers told', async () => {
        await su.collection('_riskRules').create({ model: 'payments', name: 'amount outlier',
            expression: 'amount > 1000 && @risk.amount_z > 5', score: 50, action: 'flag', active: true });
        const u = await makeUser(su, srv.url);
        const pay = (ms, amount) => u.pb.collection('payments').create({ user: u.record.id, amount, at: at(ms) });
        for (const [i, amount] of [100, 110, 90, 105, 95].entries()) await pay(i * 24 * HOUR, amount);
        const normal = await pay(5 * 24 * HOUR, 120);
        const fz = (await scoreOf(normal.id)).features;
        assert.equal(fz.amount_median, 100);
        assert.ok(Math.abs(fz.amount_z - 20 / (1.4826 * 5)) < 1e-9, `${fz.amount_z}`);
        assert.equal((await scoreOf(normal.id)).action, 'allow');
        const big = await pay(6 * 24 * HOUR, 25000);
        const s = await scoreOf(big.id);
        assert.equal(s.action, 'flag');
        assert.equal(s.score, 50);
        assert.deepEqual(s.reasons, [{ rule: 'amount outlier', score: 50, action: 'flag' }]);
        assert.equal(s.features.amount_z, 100, 'capped');
        assert.equal((await su.collection('payments').getOne(big.id)).flagged, true);
        assert.equal((await su.collection('payments').getOne(normal.id)).flagged, false);
        const told = await until('the reviewer\'s inbox', async () =>
            (await reviewer.pb.collection('_notifications').getFullList()).find((n) => n.data.record === big.id));
        assert.match(told.title, /Review needed: payments/);
        assert.match(told.body, /amount outlier/);
    });

    test('block: impossible travel refuses the write and tells nothing; an allow rule overrides', async () => {
        await su.collection('_riskRules').create({ model: 'payments', name: 'impossible travel',
            expression: '@risk.speed_kmh > 1000', score: 90, action: 'block', active: true });
        await su.collection('_riskRules').create({ model: 'payments', name: 'new device',
            expression: '@risk.first_device = true && @risk.history > 0', score: 10, action: 'flag', active: true });
        const u = await makeUser(su, srv.url);
        const mumbai = { lat: 19.076, lon: 72.8777 };
        const london = { lat: 51.5072, lon: -0.1276 };
        const p1 = await u.pb.collection('payments').create({ user: u.record.id, amount: 10, at: at(0), where: mumbai, device: 'phone-1' });
        const e = await expectError(u.pb.collection('payments').create({ user: u.record.id, amount: 10, at: at(HOUR),
            where: london, device: 'phone-1' }), 400);
        assert.equal(e.message, 'The request was declined.');
        assert.deepEqual(e.data, {});
        assert.equal((await su.collection('payments').getFullList({ filter: `user = "${u.record.id}"` })).length, 1);
        // Ten hours later the trip is possible: allowed (7,200 km in 10 h).
        const p2 = await u.pb.collection('payments').create({ user: u.record.id, amount: 10, at: at(10 * HOUR), where: london, device: 'phone-1' });
        const f2 = (await scoreOf(p2.id)).features;
        assert.ok(Math.abs(f2.distance_km - 7190) < 30, `${f2.distance_km}`);
        assert.ok(f2.speed_kmh > 700 && f2.speed_kmh < 730, `${f2.speed_kmh}`);
        assert.equal(f2.first_device, false);
        assert.equal((await scoreOf(p1.id)).features.first_device, true);
        // A new device after some history: flagged.
        const p3 = await u.pb.collection('payments').create({ user: u.record.id, amount: 10, at: at(11 * HOUR), device: 'phone-2' });
        assert.equal((await scoreOf(p3.id)).action, 'flag');
        // An allow rule (a trusted kiosk) overrides a block.
        await su.collection('_riskRules').create({ model: 'payments', name: 'kiosk', expression: 'device = "kiosk-7"',
            score: 0, action: 'allow', active: true });
        const p4 = await u.pb.collection('payments').create({ user: u.record.id, amount: 10, at: at(11 * HOUR + MIN),
            where: mumbai, device: 'kiosk-7' });
        const s4 = await scoreOf(p4.id);
        assert.equal(s4.action, 'allow');
        assert.deepEqual(s4.reasons.map((r) => r.rule).sort(), ['impossible travel', 'kiosk', 'new device']);
    });

    test('blocked attempts count in declined_* (not in the counts, sums or history)', async () => {
        const big = await su.collection('_riskRules').create({ model: 'payments', name: 'too big',
            expression: 'amount > 5000', score: 80, action: 'block', active: true });
        const retry = await su.collection('_riskRules').create({ model: 'payments', name: 'keeps trying',
            expression: '@risk.declined_1h >= 2', score: 80, action: 'block', active: true });
        const u = await makeUser(su, srv.url);
        const pay = (ms, amount) => u.pb.collection('payments').create({ user: u.record.id, amount, at: at(20 * HOUR + ms) });
        const first = await pay(0, 10);
        for (const ms of [MIN, 2 * MIN]) {
            const e = await expectError(pay(ms, 9000), 400);
            assert.equal(e.message, 'The request was declined.');
        }
        // Two refusals within the hour: a small payment is refused too.
        await expectError(pay(3 * MIN, 10), 400);
        // Past the hour: allowed; its features count the three refusals in
        // the longer windows and nothing of them anywhere else.
        const later = await pay(HOUR + 3 * MIN + 1, 20);
        const f = (await scoreOf(later.id)).features;
        assert.deepEqual([f.declined_1h, f.declined_24h, f.declined_7d], [0, 3, 3]);
        assert.deepEqual([f.count_24h, f.sum_24h, f.history], [1, 10, 1]);
        assert.deepEqual([(await scoreOf(first.id)).features.declined_24h], [0]);
        assert.equal((await su.collection('payments').getFullList({ filter: `user = "${u.record.id}"` })).length, 2);
        await su.collection('_riskRules').update(big.id, { active: false });
        await su.collection('_riskRules').update(retry.id, { active: false });
    });
});
