// The loan tracker's mobile apps, played against a running server with the
// PocketBase JS SDK: borrowers who sign up and ask for loans, officers and a
// credit manager who decide and disburse them, an auditor who reads the
// trail. Each check prints "ok - ..."; the first failure ends the script
// with exit code 1.
//
//   TARMAC_URL=http://127.0.0.1:8090 \
//   TARMAC_SUPERUSER_EMAIL=admin@example.com TARMAC_SUPERUSER_PASSWORD=... \
//   node client.mjs
//
// The superuser only makes the staff accounts (as the bank's back office
// would) and, at the end, shows what rules do not bind.
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';

const URL = process.env.TARMAC_URL || 'http://127.0.0.1:8090';
const SU = { email: process.env.TARMAC_SUPERUSER_EMAIL, password: process.env.TARMAC_SUPERUSER_PASSWORD };
const PASSWORD = 'correct-horse-42';
const ORDER = ['requested', 'approved', 'rejected', 'disbursed', 'repaid'];
const RUN = Date.now().toString(36); // fresh e-mails on every run

function ok(what) {
    console.log(`ok - ${what}`);
}

/** One app on one phone: its own SDK client and auth store. */
function app() {
    const pb = new PocketBase(URL);
    pb.autoCancellation(false);
    return pb;
}

/** Resolves with the error body when promise fails with status, else fails. */
async function refused(promise, status, what) {
    try {
        await promise;
    } catch (e) {
        assert.equal(e.status, status, `${what}: status ${e.status} ${JSON.stringify(e.response)}`);
        // The contract's error shape: {status, message, data}.
        assert.equal(e.response.status, status, what);
        assert.equal(typeof e.response.message, 'string', what);
        assert.equal(typeof e.response.data, 'object', what);
        return e.response;
    }
    assert.fail(`${what}: expected a ${status}, it succeeded`);
}

/** Polls fn until it returns a truthy value (after hooks run after the answer). */
async function eventually(fn, what, ms = 10000) {
    const end = Date.now() + ms;
    let last;
    while (Date.now() < end) {
        last = await fn();
        if (last) return last;
        await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** The app's "change status" button: the custom route of hooks/loans.lua. */
function transition(pb, loanId, status, note) {
    return pb.send(`/api/app/loans/${loanId}/transition`, { method: 'POST', body: { status, note } });
}

async function signIn(email) {
    const pb = app();
    await pb.collection('users').authWithPassword(email, PASSWORD);
    return pb;
}

async function main() {
    assert.ok(SU.email && SU.password, 'TARMAC_SUPERUSER_EMAIL and TARMAC_SUPERUSER_PASSWORD are set');

    // --- accounts ---------------------------------------------------------
    const su = app();
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);
    const staff = {};
    for (const [key, role, name] of [
        ['olivia', 'officer', 'Olivia Officer'],
        ['oscar', 'officer', 'Oscar Officer'],
        ['carla', 'credit_manager', 'Carla Credit'],
        ['audrey', 'auditor', 'Audrey Auditor'],
    ]) {
        const email = `${key}.${RUN}@bank.example`;
        const rec = await su.collection('users').create({ email, password: PASSWORD, passwordConfirm: PASSWORD, name, role });
        assert.equal(rec.role, role);
        staff[key] = { id: rec.id, pb: await signIn(email) };
    }
    ok('the back office (a superuser) made the staff accounts with their roles');

    // Borrowers sign up in the app, with no role or as borrowers only.
    const bob = { email: `bob.${RUN}@mail.example` };
    const beth = { email: `beth.${RUN}@mail.example` };
    const guest = app();
    const bobRec = await guest.collection('users').create({ email: bob.email, password: PASSWORD, passwordConfirm: PASSWORD, name: 'Bob' });
    assert.equal(bobRec.role, 'borrower', 'a sign-up without a role is a borrower (users.lua)');
    const bethRec = await guest.collection('users').create({ email: beth.email, password: PASSWORD, passwordConfirm: PASSWORD, name: 'Beth', role: 'borrower' });
    Object.assign(bob, { id: bobRec.id, pb: await signIn(bob.email) });
    Object.assign(beth, { id: bethRec.id, pb: await signIn(beth.email) });
    ok('borrowers sign up themselves; no role means borrower');

    await refused(guest.collection('users').create({
        email: `mallory.${RUN}@mail.example`, password: PASSWORD, passwordConfirm: PASSWORD, role: 'officer',
    }), 400, 'signing up as an officer');
    // A failed updateRule is a 404, as in PocketBase (the record is not "there" for that write).
    await refused(bob.pb.collection('users').update(bob.id, { role: 'credit_manager' }), 404, 'promoting oneself');
    const bobNow = await bob.pb.collection('users').getOne(bob.id);
    assert.equal(bobNow.role, 'borrower');
    await bob.pb.collection('users').update(bob.id, { name: 'Bob B.' });
    ok('no one signs up as staff or changes their own role (createRule, updateRule)');

    // --- asking for loans ---------------------------------------------------
    const small = await bob.pb.collection('loans').create({
        borrower: bob.id, amount: 5000, purpose: 'a cargo bike', status: 'repaid', last_actor: staff.olivia.id,
    });
    assert.equal(small.status, 'requested', 'the hook ignores the status the app sent');
    assert.equal(small.last_actor, bob.id);
    ok('a borrower asks for a loan; it starts as requested whatever the app sent (before_create)');

    await refused(bob.pb.collection('loans').create({ borrower: beth.id, amount: 500 }), 400, 'a loan for someone else');
    await refused(staff.olivia.pb.collection('loans').create({ borrower: staff.olivia.id, amount: 500 }), 400, 'an officer asking');
    const tooSmall = await refused(bob.pb.collection('loans').create({ borrower: bob.id, amount: 50 }), 400, 'below the minimum');
    assert.ok(tooSmall.data.amount, JSON.stringify(tooSmall));
    ok('only borrowers ask, for themselves, within the amounts the schema allows (createRule, field min)');

    const big = await beth.pb.collection('loans').create({ borrower: beth.id, amount: 50000, purpose: 'a roof' });
    const other = await beth.pb.collection('loans').create({ borrower: beth.id, amount: 800, purpose: 'a laptop' });

    // --- who sees what -------------------------------------------------------
    await refused(beth.pb.collection('loans').getOne(small.id), 404, "Beth reading Bob's loan");
    const bethList = await beth.pb.collection('loans').getFullList();
    assert.deepEqual(bethList.map((l) => l.id).sort(), [big.id, other.id].sort());
    for (const who of ['olivia', 'carla', 'audrey']) {
        const all = (await staff[who].pb.collection('loans').getFullList({ expand: 'borrower' }))
            .filter((l) => l.borrower === bob.id || l.borrower === beth.id); // this run's
        assert.equal(all.length, 3, who);
        assert.equal(all.find((l) => l.id === small.id).expand.borrower.name, 'Bob B.');
    }
    ok('borrowers see their own loans; officers, credit managers and auditors see all (listRule, viewRule)');

    // --- deciding ---------------------------------------------------------------
    await refused(staff.olivia.pb.collection('loans').update(small.id, { status: 'approved' }), 403, 'a direct PATCH');
    ok("no app writes a loan directly: updateRule is null, moves go through the route");

    const tooBig = await refused(transition(staff.olivia.pb, big.id, 'approved'), 403, 'an officer approving 50000');
    assert.match(tooBig.message, /credit manager/);
    ok('an officer may not decide above the limit: 403 with the reason');

    await refused(transition(staff.audrey.pb, small.id, 'approved'), 403, 'the auditor approving');
    await refused(transition(bob.pb, small.id, 'approved'), 403, 'the borrower approving');
    await refused(transition(beth.pb, small.id, 'repaid'), 404, "Beth touching Bob's loan");
    await refused(transition(app(), small.id, 'approved'), 401, 'a guest');
    const unknown = await refused(transition(staff.olivia.pb, small.id, 'gone'), 400, 'an unknown status');
    assert.equal(unknown.data.status.code, 'validation_invalid_value');
    ok('the route refuses by role (403), hides others\' loans (404), wants a sign-in (401) and a known status (400)');

    const early = await refused(transition(staff.olivia.pb, small.id, 'disbursed'), 400, 'disbursing a requested loan');
    assert.equal(early.data.status.code, 'invalid_transition', JSON.stringify(early));
    assert.equal(early.message, 'A loan cannot go from requested to disbursed.');
    ok('a move the graph lacks is the hook\'s 400 with a field error, even for an officer allowed to disburse');

    const approved = await transition(staff.olivia.pb, small.id, 'approved', 'good history');
    assert.equal(approved.status, 'approved');
    assert.equal(approved.last_actor, staff.olivia.id);
    assert.equal(approved.previous_status, 'requested');
    ok('an officer approves a small loan');

    const carlaOk = await transition(staff.carla.pb, big.id, 'approved');
    assert.equal(carlaOk.status, 'approved');
    ok('the credit manager approves the big one');

    const noReason = await refused(transition(staff.oscar.pb, other.id, 'rejected'), 400, 'a rejection without a reason');
    assert.equal(noReason.data.note.code, 'validation_required');
    const rejected = await transition(staff.oscar.pb, other.id, 'rejected', 'income not verified');
    assert.equal(rejected.status, 'rejected');
    await refused(transition(staff.carla.pb, other.id, 'approved'), 400, 'approving a rejected loan');
    ok('a rejection needs a reason, and is final');

    // Two officers tap "disburse" on the same loan at once: the hook runs in
    // each write's transaction, so exactly one wins.
    const both = await Promise.allSettled([
        transition(staff.olivia.pb, small.id, 'disbursed'),
        transition(staff.oscar.pb, small.id, 'disbursed'),
    ]);
    const won = both.filter((r) => r.status === 'fulfilled');
    const lost = both.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1, JSON.stringify(both.map((r) => r.reason?.response ?? r.value?.status)));
    assert.equal(lost[0].reason.status, 409);
    assert.equal(lost[0].reason.response.message, 'The loan is already disbursed.');
    const disburser = won[0].value.last_actor;
    ok('two officers disbursing at once: one 200, one 409');

    const repaid = await transition(bob.pb, small.id, 'repaid');
    assert.equal(repaid.status, 'repaid');
    await refused(transition(bob.pb, small.id, 'repaid'), 409, 'repaid twice');
    await refused(transition(staff.olivia.pb, big.id, 'repaid'), 400, 'repaying an undisbursed loan');
    ok('the borrower marks the loan repaid; it is then final');

    // --- the auditor -------------------------------------------------------------
    const audrey = staff.audrey.pb;
    await refused(audrey.collection('loans').update(big.id, { note: 'x' }), 403, 'the auditor editing');
    await refused(audrey.collection('loans').delete(big.id), 403, 'the auditor deleting');
    await refused(audrey.collection('users').update(bob.id, { name: 'x' }), 404, 'the auditor editing a user');

    const trail = await eventually(async () => {
        const list = await audrey.collection('audits').getFullList({ filter: audrey.filter('loan = {:id}', { id: small.id }), sort: 'created' });
        return list.length === 4 && list;
    }, 'four audit records of the small loan');
    // After hooks run after each answer, each on the worker that wrote: the
    // order of the moves is the graph's, not necessarily the records' creation.
    trail.sort((a, b) => ORDER.indexOf(a.to_status) - ORDER.indexOf(b.to_status));
    assert.deepEqual(trail.map((a) => [a.from_status, a.to_status, a.actor]), [
        ['', 'requested', bob.id],
        ['requested', 'approved', staff.olivia.id],
        ['approved', 'disbursed', disburser],
        ['disbursed', 'repaid', bob.id],
    ]);
    assert.equal(trail[1].note, 'good history');
    assert.ok(trail.every((a) => a.amount === 5000 && a.created));
    ok('every move left an audit record: who, from, to, when (after_create, after_update)');

    await refused(audrey.collection('audits').create({ loan: small.id, to_status: 'approved' }), 403, 'the auditor writing the trail');
    await refused(audrey.collection('audits').update(trail[0].id, { actor: '' }), 403, 'the auditor rewriting the trail');
    await refused(staff.olivia.pb.collection('audits').delete(trail[0].id), 403, 'an officer deleting the trail');
    ok('the auditor reads everything and changes nothing; the trail is read-only to every app');

    const bobTrail = await bob.pb.collection('audits').getFullList();
    assert.ok(bobTrail.length === 4 && bobTrail.every((a) => a.loan === small.id), JSON.stringify(bobTrail));
    const bethTrail = await eventually(async () => {
        const list = await beth.pb.collection('audits').getFullList();
        return list.length === 4 && list;
    }, "the four audit records of Beth's loans");
    assert.ok(bethTrail.every((a) => a.loan !== small.id), JSON.stringify(bethTrail));
    ok("a borrower reads the trail of their own loans only (listRule through loan.borrower)");

    // --- what rules do not bind --------------------------------------------------
    // A superuser is above the rules, not above the hooks.
    const suJump = await refused(su.collection('loans').update(big.id, { status: 'repaid' }), 400, "a superuser's jump");
    assert.equal(suJump.data.status.code, 'invalid_transition');
    const suAmount = await refused(su.collection('loans').update(big.id, { amount: 20000 }), 400, "a superuser's change of amount");
    assert.equal(suAmount.data.amount.code, 'immutable');
    await refused(su.collection('loans').delete(big.id), 403, "a superuser's delete");
    const suMove = await su.collection('loans').update(big.id, { status: 'disbursed' });
    assert.equal(suMove.last_actor, '');
    const suTrail = await eventually(async () => {
        const list = await audrey.collection('audits').getFullList({ filter: audrey.filter('loan = {:id}', { id: big.id }), sort: 'created' });
        return list.length === 3 && list;
    }, "the audit of the superuser's move");
    const last = suTrail.find((a) => a.to_status === 'disbursed');
    assert.deepEqual([last.from_status, last.actor], ['approved', '']);
    ok("a superuser's edit in the dashboard goes through the same graph, and is audited without a user");

    // --- risk scoring: flagged applications go to a credit manager's queue ----------
    // (README "Fraud and risk scoring"). Scored from now on: earlier loans are no history.
    await su.collection('_riskModels').create({ name: 'loans', collection: 'loans', user: 'borrower', amount: 'amount',
        flagField: 'needs_review', reviewers: 'role = "credit_manager"', active: true });
    await su.collection('_riskRules').create({ model: 'loans', name: 'another application the same day',
        expression: '@risk.count_24h >= 1', score: 30, action: 'flag', active: true });
    await su.collection('_riskRules').create({ model: 'loans', name: 'large first application',
        expression: 'amount >= 500000 && @risk.history = 0', score: 40, action: 'flag', active: true });
    await su.collection('_riskRules').create({ model: 'loans', name: 'burst',
        expression: '@risk.count_1h >= 4', score: 90, action: 'block', active: true });
    const ask = (who, amount) => who.pb.collection('loans').create({ borrower: who.id, amount, purpose: 'scored' });
    const first = await ask(bob, 2000);
    const second = await ask(bob, 2500);
    const third = await ask(bob, 3000);
    const huge = await ask(beth, 600000);
    assert.equal(first.needs_review, undefined, 'the flag is hidden from the borrower');
    // The flag is hidden: the back office filters on it; the credit manager's queue is her inbox.
    const flagged = await su.collection('loans').getFullList({ filter: 'needs_review = true', sort: 'created' });
    assert.deepEqual(flagged.map((l) => l.id), [second.id, third.id, huge.id]);
    const queue = await eventually(async () => {
        const inbox = await staff.carla.pb.collection('_notifications').getFullList({ sort: 'created' });
        return inbox.length >= 3 && inbox;
    }, "the credit manager's review queue");
    assert.deepEqual(queue.map((n) => n.data.record).sort(), [second.id, third.id, huge.id].sort());
    assert.ok(queue.every((n) => n.title.startsWith('Review needed: loans')), JSON.stringify(queue.map((n) => n.title)));
    const inQueue = await staff.carla.pb.collection('loans').getOne(queue[0].data.record);
    assert.equal(inQueue.status, 'requested');
    await refused(staff.olivia.pb.collection('_riskScores').getFullList(), 403, 'an officer reading the scores');
    const why = await su.collection('_riskScores').getFirstListItem(su.filter('record = {:id}', { id: huge.id }));
    assert.deepEqual(why.reasons.map((r) => r.rule), ['large first application']);
    await ask(bob, 3500);
    const e = await refused(ask(bob, 4000), 400, 'a fifth application within the hour');
    assert.equal(e.message, 'The request was declined.');
    ok("applications are scored: a burst is declined, unusual ones are flagged into the credit manager's queue and inbox, the reasons are the back office's");
}

try {
    await main();
} catch (e) {
    console.log(`not ok - ${e.message}`);
    if (e.response) console.log(`# response: ${JSON.stringify(e.response)}`);
    console.log(e.stack.split('\n').slice(1, 4).map((l) => `# ${l.trim()}`).join('\n'));
    process.exit(1);
}
