// The food delivery apps, played against a running server with the
// PocketBase JS SDK: customers who order and follow their order live,
// restaurants that manage their menu and accept orders, couriers who are
// dispatched by the server and deliver. Each check prints "ok - ..."; the
// first failure ends the script with exit code 1.
//
//   TARMAC_URL=http://127.0.0.1:8090 \
//   TARMAC_SUPERUSER_EMAIL=admin@example.com TARMAC_SUPERUSER_PASSWORD=... \
//   node client.mjs
//
// The superuser onboards the restaurants and couriers (accounts and their
// records), as the platform's back office would.
import assert from 'node:assert/strict';
import PocketBase from 'pocketbase';

// Realtime needs an EventSource; node 22 has one behind a flag, node 20 none.
if (!globalThis.EventSource) globalThis.EventSource = (await import('eventsource')).EventSource;

const URL = process.env.TARMAC_URL || 'http://127.0.0.1:8090';
const SU = { email: process.env.TARMAC_SUPERUSER_EMAIL, password: process.env.TARMAC_SUPERUSER_PASSWORD };
const PASSWORD = 'correct-horse-42';
const RUN = Date.now().toString(36); // fresh e-mails on every run
const FEE = 299; // hooks/orders.lua's DELIVERY_FEE, in cents

// Berlin. Couriers' distances are from Pizza Pronto.
const PIZZA_AT = { lon: 13.4000, lat: 52.5200 };
const NOODLE_AT = { lon: 13.4500, lat: 52.5000 };
const HOME = { lon: 13.4100, lat: 52.5250 };

function ok(what) {
    console.log(`ok - ${what}`);
}

function app() {
    const pb = new PocketBase(URL);
    pb.autoCancellation(false);
    return pb;
}

async function refused(promise, status, what) {
    try {
        await promise;
    } catch (e) {
        assert.equal(e.status, status, `${what}: status ${e.status} ${JSON.stringify(e.response)}`);
        assert.equal(e.response.status, status, what);
        assert.equal(typeof e.response.message, 'string', what);
        assert.equal(typeof e.response.data, 'object', what);
        return e.response;
    }
    assert.fail(`${what}: expected a ${status}, it succeeded`);
}

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function account(su, key, role, name) {
    const email = `${key}.${RUN}@food.example`;
    const rec = await su.collection('users').create({ email, password: PASSWORD, passwordConfirm: PASSWORD, name, role });
    const pb = app();
    await pb.collection('users').authWithPassword(email, PASSWORD);
    return { id: rec.id, pb, name };
}

async function main() {
    assert.ok(SU.email && SU.password, 'TARMAC_SUPERUSER_EMAIL and TARMAC_SUPERUSER_PASSWORD are set');
    const su = app();
    await su.collection('_superusers').authWithPassword(SU.email, SU.password);

    // --- onboarding (back office) ------------------------------------------
    const rita = await account(su, 'rita', 'restaurant', 'Rita');
    const ned = await account(su, 'ned', 'restaurant', 'Ned');
    const pizza = await su.collection('restaurants').create({ name: 'Pizza Pronto', owner: rita.id, location: PIZZA_AT, open: true });
    const noodle = await su.collection('restaurants').create({ name: 'Noodle Bar', owner: ned.id, location: NOODLE_AT, open: false });

    const couriers = {};
    for (const [key, name, location, available] of [
        ['cyd', 'Cyd', { lon: 13.4010, lat: 52.5205 }, false], //  0.1 km, off duty
        ['cora', 'Cora', { lon: 13.4050, lat: 52.5200 }, true], //  0.3 km
        ['cole', 'Cole', { lon: 13.4400, lat: 52.5200 }, true], //  2.7 km
        ['cal', 'Cal', { lon: 14.0000, lat: 52.5200 }, true], //   41 km, out of range
    ]) {
        const user = await account(su, key, 'courier', name);
        const rec = await su.collection('couriers').create({ user: user.id, location, available });
        couriers[key] = { ...user, courierId: rec.id };
    }
    ok('the back office onboards two restaurants and four couriers');

    const guest = app();
    const cathyRec = await guest.collection('users').create({ email: `cathy.${RUN}@mail.example`, password: PASSWORD, passwordConfirm: PASSWORD, name: 'Cathy' });
    assert.equal(cathyRec.role, 'customer');
    const cathy = { id: cathyRec.id, pb: app() };
    await cathy.pb.collection('users').authWithPassword(`cathy.${RUN}@mail.example`, PASSWORD);
    await refused(guest.collection('users').create({
        email: `sneaky.${RUN}@mail.example`, password: PASSWORD, passwordConfirm: PASSWORD, role: 'courier',
    }), 400, 'signing up as a courier');
    ok('customers sign up themselves, as customers only');

    // --- menus ---------------------------------------------------------------
    const margherita = await rita.pb.collection('menu_items').create({ restaurant: pizza.id, name: 'Margherita', price: 1150, available: true });
    const soda = await rita.pb.collection('menu_items').create({ restaurant: pizza.id, name: 'Lemon soda', price: 250, available: true });
    const calzone = await rita.pb.collection('menu_items').create({ restaurant: pizza.id, name: 'Calzone', price: 1400, available: false });
    const ramen = await ned.pb.collection('menu_items').create({ restaurant: noodle.id, name: 'Ramen', price: 1300, available: true });
    await refused(ned.pb.collection('menu_items').create({ restaurant: pizza.id, name: 'Fake', price: 1, available: true }), 400, "Ned adding to Rita's menu");
    await refused(cathy.pb.collection('menu_items').create({ restaurant: pizza.id, name: 'Free pizza', price: 1 }), 400, 'a customer adding to a menu');
    await refused(ned.pb.collection('menu_items').update(margherita.id, { price: 1 }), 404, "Ned repricing Rita's pizza");
    const menu = await cathy.pb.collection('menu_items').getFullList({ filter: cathy.pb.filter('restaurant = {:r} && available = true', { r: pizza.id }), sort: 'name' });
    assert.deepEqual(menu.map((m) => m.name), ['Lemon soda', 'Margherita']);
    ok('each restaurant manages its own menu; anyone reads it (rules through restaurant.owner)');

    // --- placing an order: the server prices it ----------------------------------
    const rita_sees = [];
    await rita.pb.collection('orders').subscribe('*', (e) => rita_sees.push(e));

    const order1 = await cathy.pb.collection('orders').create({
        customer: cathy.id, restaurant: pizza.id, deliver_to: HOME,
        items: [{ item: margherita.id, qty: 2 }, { item: soda.id, qty: 3, price: 1 }],
        total: 1, status: 'delivered', courier: couriers.cora.courierId,
    });
    assert.equal(order1.total, 2 * 1150 + 3 * 250 + FEE, 'the total is computed from menu_items');
    assert.equal(order1.status, 'placed');
    assert.equal(order1.courier, '');
    assert.deepEqual(order1.items, [
        { item: margherita.id, name: 'Margherita', price: 1150, qty: 2 },
        { item: soda.id, name: 'Lemon soda', price: 250, qty: 3 },
    ]);
    ok(`the server prices the order from menu_items (${order1.total} cents), ignoring the total, status and courier the app sent`);

    const bad = async (body, code, what) => {
        const res = await refused(cathy.pb.collection('orders').create({
            customer: cathy.id, restaurant: pizza.id, deliver_to: HOME, ...body,
        }), 400, what);
        const field = Object.keys(res.data)[0];
        assert.equal(res.data[field].code, code, `${what}: ${JSON.stringify(res)}`);
        return res;
    };
    await bad({ items: [] }, 'validation_required', 'an empty order');
    await bad({ items: [{ item: margherita.id, qty: 0 }] }, 'invalid_quantity', 'zero pizzas');
    await bad({ items: [{ item: margherita.id, qty: 1.5 }] }, 'invalid_quantity', 'half a pizza');
    await bad({ items: [{ item: 'nosuchitem12345', qty: 1 }] }, 'unknown_item', 'an unknown item');
    await bad({ items: [{ item: ramen.id, qty: 1 }] }, 'unknown_item', "another restaurant's item");
    await bad({ items: [{ item: calzone.id, qty: 1 }] }, 'sold_out', 'a sold-out item');
    await bad({ restaurant: noodle.id, items: [{ item: ramen.id, qty: 1 }] }, 'closed', 'a closed restaurant');
    await refused(rita.pb.collection('orders').create({ customer: rita.id, restaurant: pizza.id, deliver_to: HOME, items: [{ item: soda.id, qty: 1 }] }), 400, 'a restaurant ordering');
    await refused(cathy.pb.collection('orders').create({ customer: rita.id, restaurant: pizza.id, deliver_to: HOME, items: [{ item: soda.id, qty: 1 }] }), 400, 'an order for someone else');
    ok('bad orders are refused with a 400 and a field error (empty, bad quantity, unknown, sold out, closed, wrong customer)');

    await eventually(() => rita_sees.some((e) => e.action === 'create' && e.record.id === order1.id), "Rita's app hearing of the new order");
    assert.equal(rita_sees.find((e) => e.record.id === order1.id).record.total, order1.total);
    await rita.pb.collection('orders').unsubscribe('*');
    ok("the restaurant's app hears of the new order over realtime");

    // --- following the order live ------------------------------------------------
    const seen = [];
    await cathy.pb.collection('orders').subscribe(order1.id, (e) => seen.push(e.record.status));

    await refused(cathy.pb.collection('orders').update(order1.id, { status: 'accepted' }), 404, 'the customer accepting');
    await refused(ned.pb.collection('orders').update(order1.id, { status: 'accepted' }), 404, 'another restaurant accepting');
    await refused(rita.pb.collection('orders').update(order1.id, { status: 'courier_assigned' }), 404, 'the restaurant picking a courier');
    await refused(rita.pb.collection('orders').update(order1.id, { status: 'accepted', total: 1 }), 404, 'the restaurant repricing');
    await refused(couriers.cora.pb.collection('orders').update(order1.id, { status: 'delivered' }), 404, 'a courier not (yet) on it');
    ok("only the restaurant's owner accepts, with nothing else in the body (updateRule: 404 otherwise)");

    const accepted = await rita.pb.collection('orders').update(order1.id, { status: 'accepted' });
    assert.equal(accepted.status, 'accepted');
    const assigned1 = await eventually(async () => {
        const o = await cathy.pb.collection('orders').getOne(order1.id);
        return o.status === 'courier_assigned' && o;
    }, 'the first order to get a courier');
    assert.equal(assigned1.courier, couriers.cora.courierId, 'Cora: the nearest courier on duty (Cyd is off duty)');
    const cora = await couriers.cora.pb.collection('couriers').getOne(couriers.cora.courierId);
    assert.equal(cora.current_order, order1.id);
    assert.equal(cora.available, false);
    ok('once accepted, the server assigns the nearest available courier (after_update, geoDistance)');

    // Cora's app: her order, and what she may not do with her record.
    const mine = await couriers.cora.pb.collection('orders').getFullList();
    assert.deepEqual(mine.map((o) => o.id), [order1.id]);
    const busy = await refused(couriers.cora.pb.collection('couriers').update(couriers.cora.courierId, { available: true }), 400, 'going on duty mid-delivery');
    assert.equal(busy.data.available.code, 'on_delivery');
    await refused(couriers.cora.pb.collection('couriers').update(couriers.cora.courierId, { current_order: '' }), 404, 'dropping the order');
    await couriers.cora.pb.collection('couriers').update(couriers.cora.courierId, { location: { lon: 13.4080, lat: 52.5230 } });
    ok('the courier sees the order and moves, but cannot drop it or go on duty mid-delivery');

    // --- more orders than couriers ----------------------------------------------
    const place = () => cathy.pb.collection('orders').create({
        customer: cathy.id, restaurant: pizza.id, deliver_to: HOME, items: [{ item: margherita.id, qty: 1 }],
    });
    const order2 = await place();
    const order3 = await place();
    await rita.pb.collection('orders').update(order2.id, { status: 'accepted' });
    const assigned2 = await eventually(async () => {
        const o = await rita.pb.collection('orders').getOne(order2.id);
        return o.status === 'courier_assigned' && o;
    }, 'the second order to get a courier');
    assert.equal(assigned2.courier, couriers.cole.courierId, 'Cole: the nearest one left in range');
    await rita.pb.collection('orders').update(order3.id, { status: 'accepted' });
    await sleep(300);
    const waiting = await rita.pb.collection('orders').getOne(order3.id);
    assert.equal(waiting.status, 'accepted', 'no courier in range is free: Cal is 41 km away');
    assert.equal(waiting.courier, '');
    ok('the next order gets the next nearest courier; with none free in range, an order waits');

    await couriers.cyd.pb.collection('couriers').update(couriers.cyd.courierId, { available: true });
    const assigned3 = await eventually(async () => {
        const o = await rita.pb.collection('orders').getOne(order3.id);
        return o.status === 'courier_assigned' && o;
    }, 'the waiting order to get Cyd');
    assert.equal(assigned3.courier, couriers.cyd.courierId);
    ok('a courier who starts a shift is given the waiting order at once (after_update on couriers)');

    // --- delivery -------------------------------------------------------------------
    await refused(couriers.cole.pb.collection('orders').update(order1.id, { status: 'delivered' }), 404, "Cole delivering Cora's order");
    const delivered = await couriers.cora.pb.collection('orders').update(order1.id, { status: 'delivered' });
    assert.equal(delivered.status, 'delivered');
    const freed = await eventually(async () => {
        const c = await couriers.cora.pb.collection('couriers').getOne(couriers.cora.courierId);
        return c.available && c.current_order === '' && c;
    }, 'Cora to be free again');
    assert.equal(freed.available, true);
    ok("the courier marks the order delivered and is free again");

    await eventually(() => seen.length >= 3 && seen[seen.length - 1] === 'delivered', "Cathy's app to see the delivery");
    const steps = seen.filter((s, i) => i === 0 || seen[i - 1] !== s);
    assert.deepEqual(steps, ['accepted', 'courier_assigned', 'delivered']);
    await cathy.pb.collection('orders').unsubscribe(order1.id);
    ok(`the customer's app followed the order over realtime: ${steps.join(' -> ')}`);

    // Two orders accepted at the same moment, one courier free (Cora): the
    // dispatches may run at once on two workers; the courier's before_update
    // hook lets only one of them take her, and the other order waits.
    const [order5, order6] = [await place(), await place()];
    await Promise.all([order5, order6].map((o) => rita.pb.collection('orders').update(o.id, { status: 'accepted' })));
    const firstOut = await eventually(async () => {
        const list = await rita.pb.collection('orders').getFullList({ filter: rita.pb.filter('id = {:a} || id = {:b}', { a: order5.id, b: order6.id }) });
        const done = list.filter((o) => o.status === 'courier_assigned');
        return done.length === 1 && list;
    }, 'one of two simultaneous orders to get the one free courier');
    const got = firstOut.find((o) => o.status === 'courier_assigned');
    const left = firstOut.find((o) => o.status === 'accepted');
    assert.equal(got.courier, couriers.cora.courierId);
    assert.ok(left && left.courier === '', JSON.stringify(firstOut));
    await couriers.cole.pb.collection('orders').update(order2.id, { status: 'delivered' });
    const second = await eventually(async () => {
        const o = await rita.pb.collection('orders').getOne(left.id);
        return o.status === 'courier_assigned' && o;
    }, 'the other order to get Cole once he delivered');
    assert.equal(second.courier, couriers.cole.courierId);
    ok('two orders accepted at once with one free courier: one gets her, the other waits for the next free one');

    // --- refusals of the graph ---------------------------------------------------
    const order4 = await place();
    const rejected = await rita.pb.collection('orders').update(order4.id, { status: 'rejected' });
    assert.equal(rejected.status, 'rejected');
    const late = await refused(rita.pb.collection('orders').update(order4.id, { status: 'accepted' }), 400, 'accepting a rejected order');
    assert.equal(late.data.status.code, 'invalid_transition');
    const back = await refused(rita.pb.collection('orders').update(order3.id, { status: 'accepted' }), 400, 'accepting an order twice');
    assert.equal(back.data.status.code, 'invalid_transition');
    const suJump = await refused(su.collection('orders').update(order4.id, { status: 'delivered' }), 400, "a superuser's jump");
    assert.equal(suJump.data.status.code, 'invalid_transition');
    await refused(su.collection('orders').update(order3.id, { total: 5 }), 400, "a superuser's repricing");
    const swap = await refused(su.collection('orders').update(order3.id, { courier: couriers.cora.courierId }), 409, "a superuser's courier swap");
    assert.match(swap.message, /already has a courier/);
    // What a losing dispatch meets (hooks/dispatch.lua): taking a busy courier.
    const taken = await refused(su.collection('couriers').update(couriers.cora.courierId, { current_order: order4.id }), 409, 'taking a busy courier');
    assert.equal(taken.message, 'The courier is on another delivery.');
    ok('the graph binds everyone, superusers too (before_update): 400 with a field error, 409 for a second courier or a busy one');

    // Who sees which orders.
    const cathyOrders = await cathy.pb.collection('orders').getFullList();
    assert.equal(cathyOrders.length, 6);
    assert.equal((await ned.pb.collection('orders').getFullList()).length, 0);
    assert.deepEqual((await couriers.cole.pb.collection('orders').getFullList({ sort: 'created' })).map((o) => o.id), [order2.id, left.id]);
    await refused(couriers.cal.pb.collection('orders').getOne(order1.id), 404, 'an unrelated courier reading an order');
    ok('customers, restaurants and couriers each see their own orders only (listRule, viewRule)');

    // --- recommendations: restaurants and dishes (README "Recommendations") ---------
    // Favourites and dish likes are the interactions; a superuser declares them once.
    await su.collection('_recommenders').create({ name: 'restaurants', interactions: 'favorites', user: 'user', item: 'restaurant', active: true });
    await su.collection('_recommenders').create({ name: 'dishes', interactions: 'dish_likes', user: 'user', item: 'dish',
        halfLifeDays: 30, active: true });
    const tapas = await su.collection('restaurants').create({ name: 'Tapas Tina', owner: ned.id, location: NOODLE_AT, open: true });
    const dan = await account(su, 'dan', 'customer', 'Dan');
    const eve = await account(su, 'eve', 'customer', 'Eve');
    const fave = (u, r) => u.pb.collection('favorites').create({ user: u.id, restaurant: r.id });
    const like = (u, d) => u.pb.collection('dish_likes').create({ user: u.id, dish: d.id });
    // Dan and Cathy share a taste for Pizza Pronto; Dan also loves Tapas Tina and the Noodle Bar.
    await fave(dan, pizza);
    await fave(dan, tapas);
    await fave(dan, noodle);
    await fave(cathy, pizza);
    await fave(eve, noodle);
    await like(dan, margherita);
    await like(dan, soda);
    await like(dan, ramen);
    await like(cathy, margherita);
    await refused(fave({ ...cathy, id: dan.id }, tapas), 400, "a favourite for someone else");
    const forCathy = await eventually(async () => {
        const r = await cathy.pb.send('/api/collections/restaurants/recommendations', { query: { limit: 3 } });
        return r.scores[0]?.source === 'similar' && r.scores.length === 2 && r;
    }, "Cathy's restaurant recommendations");
    assert.deepEqual(forCathy.items.map((x) => x.name).sort(), ['Noodle Bar', 'Tapas Tina']);
    assert.ok(!forCathy.items.some((x) => x.id === pizza.id), 'her own favourite is left out');
    const open = await cathy.pb.send('/api/collections/restaurants/recommendations', { query: { filter: 'open = true' } });
    assert.deepEqual(open.items.map((x) => x.name), ['Tapas Tina'], 'the Noodle Bar is closed');
    const dishes = await eventually(async () => {
        const r = await cathy.pb.send('/api/collections/menu_items/recommendations', { query: { limit: 2, expand: 'restaurant' } });
        return r.scores.length && r.scores[0].source === 'similar' && r;
    }, "Cathy's dish recommendations");
    assert.ok(['Lemon soda', 'Ramen'].includes(dishes.items[0].name), JSON.stringify(dishes.items.map((x) => x.name)));
    assert.ok(dishes.items[0].expand.restaurant.name);
    const like2 = await cathy.pb.send(`/api/collections/menu_items/records/${margherita.id}/similar`, { query: { limit: 3 } });
    assert.ok(like2.items.every((x) => x.id !== margherita.id) && like2.items.length > 0);
    ok("customers get restaurants and dishes liked by people with their taste (closed ones filtered out), and similar dishes");
}

try {
    await main();
} catch (e) {
    console.log(`not ok - ${e.message}`);
    if (e.response) console.log(`# response: ${JSON.stringify(e.response)}`);
    console.log((e.stack || '').split('\n').slice(1, 4).map((l) => `# ${l.trim()}`).join('\n'));
    process.exit(1);
}
// Realtime connections would keep node running.
process.exit(0);
