// hooks.js -- the screens of the system collections behind background work,
// as specs for systable.js: outbound webhooks (_webhooks), inbound webhooks
// (_inboundWebhooks, each an endpoint POST /api/webhooks/{name}) and
// schedules (_schedules, with PocketBase's cron list and run-now). The
// server checks a record's fields on save; what it does not check (a hook's
// filter, a schedule's cron) is checked here before saving: the filter by the
// server itself, listing the hook's collection with it.
import { h, field, toast, fmtDate } from './dom.js';
import { api, enc } from './api.js';
import { checkFilter } from './filter.js';
import { kindField } from './jobform.js';
import { sysScreen } from './systable.js';

const dash = () => h('span', { class: 'muted' }, '—');
const yes = (v) => (v ? 'yes' : 'no');
const clip = (s, n) => (s && s.length > n ? s.slice(0, n) + '…' : s || '');

// A select of the collections a hook can watch or an endpoint can fill (not
// the system ones), keeping a current value that is none of them.
export function collectionInput(help) {
    return (rec, ctx) => {
        const cur = rec?.collection || '';
        const names = ctx.all.filter((c) => !c.system || c.name === 'users').map((c) => c.name);
        if (cur && !names.includes(cur)) names.unshift(cur);
        const c = field('Collection (required)', h('select', {}, h('option', { value: '' }, '— choose —'),
            names.map((n) => h('option', { value: n, selected: n === cur }, n))), help);
        return { ...c, value: () => c.input.value };
    };
}

// A text input with a button that fills in a random secret.
function secretInput(label, help) {
    return (rec) => {
        const c = field(label, h('input', { type: 'text', value: rec?.secret || '', spellcheck: false, autocomplete: 'off', class: 'code' }), help);
        c.wrap.append(h('button', {
            type: 'button', class: 'small', onclick: () => {
                const b = crypto.getRandomValues(new Uint8Array(24));
                c.input.value = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
            },
        }, 'Generate a secret'));
        return { ...c, value: () => c.input.value };
    };
}

// The hook's filter, checked as you type against the chosen collection's fields.
export function filterInput(rec, ctx, ctls) {
    const c = field('Filter', h('textarea', { rows: 2, class: 'code', spellcheck: false, value: rec?.filter || '' }),
        'Optional; the filter language, over the record as written (as it was, for a delete). Empty: every change.');
    const run = () => {
        const col = ctx.all.find((x) => x.name === ctls.collection.value() || x.id === ctls.collection.value());
        const e = checkFilter(c.input.value, col ? col.fields.map((f) => f.name) : null);
        c.setError(e ? `${e.message} (at ${e.offset})` : '');
    };
    c.input.addEventListener('input', run);
    ctls.collection.input.addEventListener('change', run);
    return { ...c, value: () => c.input.value.trim() };
}

// The server compiles the filter against the collection: a list of one
// record with it answers 400 with the reason when it cannot.
async function checkHook(data) {
    if (data.collection.startsWith('_')) return { collection: 'System collections send no webhooks.' };
    if (!data.filter || !data.collection) return null;
    try {
        await api('GET', `/api/collections/${enc(data.collection)}/records`, { query: { filter: data.filter, perPage: 1, skipTotal: 1, fields: 'id' } });
        return null;
    } catch (e) {
        if (e.status === 400) return { filter: e.message };
        if (e.status === 404) return { collection: 'No such collection.' };
        return { filter: e.message };
    }
}

const endpoint = (name) => `${location.origin}/api/webhooks/${name}`;

// Cron fields (base/cron.h): [name, min, max]; macros as the server takes them.
const CRON_FIELDS = [['minute', 0, 59], ['hour', 0, 23], ['day', 1, 31], ['month', 1, 12], ['weekday', 0, 7]];
const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const CRON_ITEM = /^(?:\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/;

// null when expr is a cron expression the server runs, else why not.
export function checkCron(expr) {
    const s = expr.trim();
    if (s.startsWith('@')) return CRON_MACROS.includes(s) ? null : `Unknown macro; one of ${CRON_MACROS.join(', ')}.`;
    const parts = s.split(/\s+/);
    if (parts.length !== 5) return 'Five fields: minute hour day month weekday (or a macro such as @daily).';
    for (let i = 0; i < 5; i++) {
        const [name, lo, hi] = CRON_FIELDS[i];
        for (const item of parts[i].split(',')) {
            const m = CRON_ITEM.exec(item);
            const a = m && m[1] !== undefined ? +m[1] : lo, b = m && m[2] !== undefined ? +m[2] : m && m[1] !== undefined && !m[3] ? a : hi;
            if (!m || a < lo || b > hi || a > b || (m[3] !== undefined && +m[3] < 1)) return `Invalid ${name} "${item}" (${lo}-${hi}).`;
        }
    }
    return null;
}

const SPECS = {
    webhooks: {
        collection: '_webhooks', title: 'Outbound webhooks', noun: 'webhook', key: 'url', sort: 'created',
        intro: 'Each change of a watched collection that passes the filter is POSTed to the URL as JSON, signed with the secret ' +
            '(X-Tarmac-Signature: t=…,v1=HMAC-SHA256 of "t.body"), and retried until a 2xx; see the deliveries under Jobs (kind webhook).',
        defaults: { active: true },
        columns: [['URL', (r) => clip(r.url, 60)], ['Collection', (r) => r.collection],
            ['Events', (r) => (r.events?.length ? r.events.join(', ') : 'all')],
            ['Filter', (r) => (r.filter ? h('code', {}, clip(r.filter, 50)) : dash())], ['Active', (r) => yes(r.active)]],
        fields: [
            { name: 'collection', input: collectionInput('The collection whose changes are sent.') },
            { name: 'events', label: 'Events', help: 'None checked: all three.' },
            { name: 'filter', input: filterInput },
            { name: 'url', label: 'URL', help: 'Where the POST goes; private addresses need --allow-private-network.' },
            { name: 'secret', input: secretInput('Secret', 'Signs each delivery; the receiver checks the signature with it.') },
            { name: 'headers', label: 'Extra headers', help: 'A JSON object, e.g. {"X-Key": "…"}.' },
            { name: 'active', label: 'Active' },
        ],
        check: checkHook,
    },
    inbound: {
        collection: '_inboundWebhooks', title: 'Inbound webhooks', noun: 'endpoint', key: 'name', sort: 'name',
        intro: 'Each endpoint takes signed events at POST /api/webhooks/{name}: the signature is checked over the raw body, ' +
            'then the event becomes a record of the target collection (payload, and eventId and source when it has such fields).',
        defaults: { active: true, tolerance: 300 },
        columns: [['Name', (r) => r.name], ['Endpoint', (r) => h('span', { class: 'endpoint' }, h('code', {}, 'POST ' + endpoint(r.name)),
            h('button', { type: 'button', class: 'small', 'aria-label': 'Copy the URL of ' + r.name, onclick: () => navigator.clipboard?.writeText(endpoint(r.name)).then(() => toast('Copied.')) }, 'Copy'))],
        ['Scheme', (r) => r.scheme], ['Collection', (r) => r.collection], ['Active', (r) => yes(r.active)]],
        fields: [
            { name: 'name', label: 'Name', help: 'Letters, digits, _ and -: the last part of the URL.' },
            { name: 'scheme', label: 'Scheme', help: 'stripe (Stripe-Signature), razorpay (X-Razorpay-Signature), github (X-Hub-Signature-256), twilio (X-Twilio-Signature, over the app URL; for SMS delivery reports), hmac-sha256 (hex HMAC in your header).' },
            { name: 'secret', input: secretInput('Secret (required)', 'The signing secret the sender uses.') },
            { name: 'header', label: 'Header', help: 'hmac-sha256 only: the header carrying the signature, e.g. X-Signature.' },
            { name: 'collection', input: collectionInput('Where events are stored: a json field payload; text fields eventId (refuses replays) and source, if you want them.') },
            { name: 'tolerance', label: 'Tolerance (seconds)', help: 'stripe: how old a signed timestamp may be; empty or 0: 300.' },
            { name: 'active', label: 'Active' },
        ],
        formExtra: (ctls) => {
            const out = h('output', { class: 'code' });
            const upd = () => { out.textContent = 'POST ' + endpoint(ctls.name.input.value || '{name}'); };
            ctls.name.input.addEventListener('input', upd);
            upd();
            return h('p', { class: 'help' }, 'Endpoint: ', out);
        },
        check: (d) => (d.scheme === 'hmac-sha256' && !d.header ? { header: 'The hmac-sha256 scheme needs the header name.' } : null),
    },
    schedules: {
        collection: '_schedules', title: 'Schedules', noun: 'schedule', key: 'name', sort: 'name',
        intro: 'Each active schedule enqueues a job of its kind at the times of its cron expression (UTC); a run still pending absorbs the next. ' +
            'Run now enqueues one at once (POST /api/crons/{name}).',
        defaults: { active: true, payload: {} },
        load: async () => ({ crons: new Set((await api('GET', '/api/crons')).map((c) => c.id)) }),
        columns: [['Name', (r) => r.name], ['Cron', (r) => h('code', {}, r.cron)], ['Kind', (r) => r.kind],
            ['Active', (r) => yes(r.active)], ['Last run', (r) => (r.lastRunAt > 0 ? fmtDate(new Date(r.lastRunAt).toISOString()) : dash())]],
        rowActions: (r, ctx) => (ctx.crons?.has(r.name) ? h('button', {
            type: 'button', class: 'small', 'aria-label': `Run now ${r.name}`, onclick: async () => {
                try {
                    await api('POST', '/api/crons/' + enc(r.name));
                    toast(`Ran ${r.name}: its ${r.kind} job is queued (see Jobs).`);
                    ctx.reload();
                } catch (e) { toast(e.message, 'error'); }
            },
        }, 'Run now') : null),
        fields: [
            { name: 'name', label: 'Name', help: 'Unique; the id of the cron (POST /api/crons/{name}).' },
            {
                name: 'cron', input: (rec) => {
                    const c = field('Cron (required)', h('input', { type: 'text', class: 'code', spellcheck: false, value: rec?.cron || '' }),
                        'minute hour day month weekday, UTC, with *, a-b, */n, lists; or @hourly, @daily, @weekly, @monthly, @yearly.');
                    c.input.addEventListener('input', () => c.setError(c.input.value.trim() ? checkCron(c.input.value) : ''));
                    return { ...c, value: () => c.input.value.trim() };
                },
            },
            { name: 'kind', input: (rec, ctx, ctls) => kindField(rec?.kind, () => ctls.payload) },
            { name: 'payload', label: 'Payload', help: 'The job\'s payload (JSON object).' },
            { name: 'active', label: 'Active' },
        ],
        check: (d) => (checkCron(d.cron) ? { cron: checkCron(d.cron) } : null),
    },
};

export const hookScreen = (which) => sysScreen(SPECS[which]);
