// notify.js -- the notification screens (README "Push notifications"):
//   - Send (#/notify[/USER]): a notification composed and sent by POST
//     /api/notify: recipients chosen (the users picker) or matched by a filter
//     over users (checked as you type, then counted by listing users with it),
//     channels, title, body, data, category, dedupe key, run at; the server's
//     objections on their fields. Below it the recent `notify` jobs and their
//     status, refreshed while one is pending.
//   - Triggers (#/triggers): `_notifyTriggers` through systable.js; the filter
//     checked as you type against the watched collection, the recipients and
//     changed fields chosen among its own, its placeholders listed. The server
//     checks a trigger when it is saved.
//   - Devices (#/devices[/USER]): `_devices`, the devices apps registered,
//     with their users; a filter box (a user's own from their record form).
//   - Templates (#/templates): `_notifyTemplates`, a named notification's
//     texts per locale (title, body, SMS, email HTML).
//   - Inbox (#/inbox[/USER]): `_notifications`, the in-app inbox records of
//     every user (read or not), a filter box; mark read or unread, delete.
//   - Preferences (#/prefs[/USER]): `_notifyPrefs`, each user's muted
//     channels per category and quiet hours.
// Everything goes through the public API with the superuser's token, and
// every value is drawn as text.
import { h, field, toast, modal, fmtDate, showErrors, clearErrors } from './dom.js';
import { api, enc, collections } from './api.js';
import { checkFilter } from './filter.js';
import { inputFor, jsonInput, fromLocal, presentable } from './inputs.js';
import { collectionInput, filterInput } from './hooks.js';
import { jobView, statusTag } from './jobs.js';
import { sysScreen } from './systable.js';

const USERS_ID = '_pb_users_auth_'; // the collection notifications go to (core/notify)
const CHANNELS = [['push', 'Push (the users\' devices)'], ['inbox', 'In-app inbox (_notifications)'], ['sms', 'SMS (the users\' phone field)'],
    ['email', 'Email (the users\' address, through SMTP)']];
const REFRESH_MS = 2000;
const PENDING = new Set(['queued', 'running', 'failed']);
const dash = () => h('span', { class: 'muted' }, '—');
const clip = (s, n) => (s && s.length > n ? s.slice(0, n) + '…' : s || '');
const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;

// Channel checkboxes as a control: value() the checked ones.
function channelsInput(checked) {
    const boxes = CHANNELS.map(([v, label]) => field(label, h('input', { type: 'checkbox', value: v, checked: checked.includes(v) })));
    const err = h('p', { class: 'err', hidden: true, id: 'channels-err' });
    const wrap = h('fieldset', { class: 'field' }, h('legend', {}, 'Channels'), h('div', { class: 'checks' }, boxes.map((b) => b.wrap)), err);
    return {
        wrap, input: boxes[0].input,
        value: () => boxes.filter((b) => b.input.checked).map((b) => b.input.value),
        setError: (m) => { err.textContent = m || ''; err.hidden = !m; },
    };
}

// The recipients as a filter over users: the language checked as you type,
// then how many users it matches now (a list of users with it, whose 400
// is the server's reason).
function userFilterInput(users) {
    const c = field('Filter over users', h('textarea', { rows: 2, class: 'code', spellcheck: false }),
        'The filter language, as a superuser sees users, e.g. verified = true && created > "2025-01-01". Matched when the job runs.');
    const count = h('output', { class: 'help count-out' });
    c.wrap.append(count);
    let timer = 0, seq = 0;
    c.input.addEventListener('input', () => {
        clearTimeout(timer);
        count.textContent = '';
        const src = c.input.value.trim();
        const e = checkFilter(src, users ? users.fields.map((f) => f.name) : null);
        c.setError(e ? `${e.message} (at ${e.offset})` : '');
        if (e || !src || !users) return;
        const mine = ++seq;
        timer = setTimeout(async () => {
            try {
                const r = await api('GET', `/api/collections/${enc(users.id)}/records`, { query: { filter: src, perPage: 1, fields: 'id' } });
                if (mine === seq) count.textContent = `${plural(r.totalItems, 'user')} match${r.totalItems === 1 ? 'es' : ''} now.`;
            } catch (err) { if (mine === seq) c.setError(err.message); }
        }, 400);
    });
    return { ...c, value: () => c.input.value.trim() };
}

// "title: must be a text of 1 to 256 bytes." on payload -> on title.
function onFields(err, ctls) {
    const data = { ...err.data };
    const m = /^(\w+): (.*)$/.exec(data.payload?.message || '');
    if (m && ctls[m[1]]) {
        data[m[1]] = { message: m[2].charAt(0).toUpperCase() + m[2].slice(1) };
        delete data.payload;
    }
    return { message: err.message + (data.payload ? ' ' + data.payload.message : ''), data };
}

// The names of the templates (_notifyTemplates), each once, sorted.
async function templateNames() {
    const r = await api('GET', '/api/collections/_notifyTemplates/records', { query: { perPage: 500, sort: 'name', fields: 'name' } });
    return [...new Set(r.items.map((t) => t.name))];
}

export async function sendScreen(userId) {
    const [all, names] = await Promise.all([collections(true), templateNames()]);
    const users = all.find((c) => c.id === USERS_ID) || null;
    // A user given in the hash (from their record form) starts the list.
    let start = null;
    if (userId && users) {
        const u = await api('GET', `/api/collections/${enc(users.id)}/records/${enc(userId)}`);
        start = { users: [u.id], expand: { users: [u] } };
    }
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const picker = users ? inputFor({ name: 'users', label: 'Users', type: 'relation', collectionId: users.id, maxSelect: 10000,
        help: 'Search by email or name; up to 10,000 users.' }, start, { all }) : null;
    const ctls = {
        users: picker || { ...field('Users', h('input', { type: 'text', disabled: true }), 'There is no users collection.'), value: () => [] },
        filter: userFilterInput(users),
        channels: channelsInput(['push']),
        title: field('Title (required)', h('input', { type: 'text', maxLength: 256 })),
        body: field('Body', h('textarea', { rows: 3 })),
        template: field('Template (required)', h('select', {}, names.length ? names.map((n) => h('option', { value: n }, n))
            : h('option', { value: '' }, '— no templates yet —')), 'Its texts in each recipient\'s language (see Templates).'),
        record: field('Record collection', h('select', {}, h('option', { value: '' }, '— none —'),
            all.filter((c) => c.type !== 'view').map((c) => h('option', { value: c.name }, c.name))),
        'Optional: the record whose {{record.<field>}} placeholders the template uses (read when the job runs).'),
        recordId: field('Record id', h('input', { type: 'text', spellcheck: false, autocomplete: 'off' })),
        urgent: field('Urgent: not held for the users\' quiet hours', h('input', { type: 'checkbox' })),
        data: jsonInput('Data (JSON object)', null, 'Sent with it for the app, e.g. {"screen": "order", "id": "…"}; FCM gets the values as strings.'),
        category: field('Category', h('input', { type: 'text', spellcheck: false }),
            'Optional; a user who muted a channel for it (or for every category) in _notifyPrefs is skipped on that channel.'),
        dedupeKey: field('Dedupe key', h('input', { type: 'text', spellcheck: false }),
            'A notification with this key still waiting takes this one\'s place: sending twice sends once.'),
        runAt: field('Send at (UTC)', h('input', { type: 'datetime-local', step: 1 }), 'Empty: now.'),
    };
    const byFilter = h('input', { type: 'radio', name: 'to', value: 'filter', id: 'to-filter' });
    const byUsers = h('input', { type: 'radio', name: 'to', value: 'users', id: 'to-users', checked: true });
    const mode = () => (byFilter.checked ? 'filter' : 'users');
    const drawMode = () => { ctls.users.wrap.hidden = mode() !== 'users'; ctls.filter.wrap.hidden = mode() !== 'filter'; };
    byFilter.addEventListener('change', drawMode);
    byUsers.addEventListener('change', drawMode);
    drawMode();
    const radio = (input, label) => h('span', { class: 'check' }, input, h('label', { for: input.id }, label));
    // The texts: written here, or a template's.
    const byText = h('input', { type: 'radio', name: 'what', value: 'text', id: 'what-text', checked: true });
    const byTemplate = h('input', { type: 'radio', name: 'what', value: 'template', id: 'what-template' });
    const what = () => (byTemplate.checked ? 'template' : 'text');
    const textBox = h('div', {}, ctls.title.wrap, ctls.body.wrap);
    const templateBox = h('div', {}, ctls.template.wrap, h('div', { class: 'grid' }, ctls.record.wrap, ctls.recordId.wrap));
    const drawWhat = () => {
        textBox.hidden = what() !== 'text';
        templateBox.hidden = what() !== 'template';
    };
    byText.addEventListener('change', drawWhat);
    byTemplate.addEventListener('change', drawWhat);
    drawWhat();
    const text = (c) => () => c.input.value.trim() || undefined;

    async function send(e) {
        e.preventDefault();
        clearErrors(ctls, formError);
        const body = {};
        try {
            if (mode() === 'users') body.users = ctls.users.value();
            else body.filter = ctls.filter.value();
            body.channels = ctls.channels.value();
            if (what() === 'text') {
                body.title = ctls.title.input.value;
                const v = text(ctls.body)();
                if (v !== undefined) body.body = v;
            } else {
                body.template = ctls.template.input.value;
                if (ctls.record.input.value) body.record = { collection: ctls.record.input.value, id: ctls.recordId.input.value.trim() };
            }
            for (const k of ['category', 'dedupeKey']) { const v = text(ctls[k])(); if (v !== undefined) body[k] = v; }
            if (ctls.urgent.input.checked) body.urgent = true;
            const data = ctls.data.value();
            if (data !== null) body.data = data;
            const runAt = fromLocal(ctls.runAt.input.value);
            if (runAt) body.runAt = runAt;
        } catch (err) { showErrors(err, {}, formError); return; }
        // What the server would refuse with a less direct message.
        const bad = {};
        if (mode() === 'users' && !body.users.length) bad.users = { message: 'Choose at least one user (or send to a filter).' };
        if (mode() === 'filter' && !body.filter) bad.filter = { message: 'Cannot be blank.' };
        if (!body.channels.length) bad.channels = { message: 'Choose at least one channel.' };
        if (what() === 'template' && !body.template) bad.template = { message: 'Add a template first (Notifications, Templates).' };
        if (body.record && !body.record.id) bad.recordId = { message: 'Cannot be blank with a collection.' };
        if (Object.keys(bad).length) { showErrors({ message: 'Not sent.', data: bad }, ctls, formError); return; }
        try {
            const job = await api('POST', '/api/notify', { body });
            toast(`Queued: notification job ${job.id}.`);
            load();
        } catch (err) { showErrors(onFields(err, ctls), ctls, formError); }
    }

    // The recent notifications: `notify` jobs, newest first.
    const table = h('table', { class: 'stack notifications' });
    const COLS = [
        ['Title', (j) => (j.payload?.template ? `template ${j.payload.template}` : clip(j.payload?.title ?? Object.values(j.payload?.locales || {})[0]?.title, 60))],
        ['To', (j) => (j.payload?.filter ? h('code', {}, clip(j.payload.filter, 50)) : plural(j.payload?.users?.length || 0, 'user'))],
        ['Channels', (j) => (j.payload?.channels || ['push']).join(', ')],
        ['Status', (j) => statusTag(j.status)],
        ['Run at', (j) => fmtDate(j.runAt)],
        ['Last error', (j) => (j.lastError ? clip(j.lastError, 60) : dash())],
    ];
    let timer = 0, loadSeq = 0;
    async function load() {
        const seq = ++loadSeq;
        clearTimeout(timer);
        try {
            const r = await api('GET', '/api/jobs', { query: { kind: 'notify', sort: '-created', perPage: 20 } });
            if (seq !== loadSeq) return;
            table.replaceChildren(
                h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Job'), COLS.map(([l]) => h('th', { scope: 'col' }, l)))),
                h('tbody', {}, r.items.length ? r.items.map((j) => h('tr', { 'data-id': j.id },
                    h('td', { 'data-label': 'Job' }, h('button', { type: 'button', class: 'link code', 'aria-label': 'View job ' + j.id, onclick: () => openJob(j.id) }, j.id)),
                    COLS.map(([l, cell]) => h('td', { 'data-label': l }, cell(j)))))
                    : h('tr', {}, h('td', { colSpan: COLS.length + 1, class: 'muted' }, 'None sent yet.'))));
            if (r.items.some((j) => PENDING.has(j.status))) timer = setTimeout(load, REFRESH_MS);
        } catch (err) { if (seq === loadSeq) toast(err.message, 'error'); }
    }
    async function openJob(id) {
        let job;
        try { job = await api('GET', '/api/jobs/' + enc(id)); } catch (e) { toast(e.message, 'error'); return; }
        await modal('Job ' + id, (close) => jobView(job, close), { wide: true });
        load();
    }

    const el = h('section', { class: 'notify-screen' },
        h('div', { class: 'bar' }, h('h1', {}, 'Send a notification')),
        h('p', { class: 'intro' }, 'Queued as a notify job (POST /api/notify): when it runs, each recipient gets it on every channel chosen: ' +
            'a push to each of their devices (the providers are set under Settings), a record in their inbox, a text to their phone, a mail.'),
        h('form', { class: 'card settings-part', noValidate: true, onsubmit: send, 'aria-label': 'Notification' },
            h('fieldset', { class: 'field' }, h('legend', {}, 'Recipients'), h('div', { class: 'checks' }, radio(byUsers, 'Chosen users'), radio(byFilter, 'Users matching a filter'))),
            ctls.users.wrap, ctls.filter.wrap, ctls.channels.wrap,
            h('fieldset', { class: 'field' }, h('legend', {}, 'Texts'), h('div', { class: 'checks' }, radio(byText, 'Written here'), radio(byTemplate, 'From a template'))),
            textBox, templateBox, ctls.data.wrap,
            h('div', { class: 'grid' }, ctls.category.wrap, ctls.dedupeKey.wrap, ctls.runAt.wrap), ctls.urgent.wrap,
            formError, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Send'))),
        h('div', { class: 'bar' }, h('h2', {}, 'Recent notifications'), h('button', { type: 'button', onclick: load }, 'Refresh')),
        h('div', { class: 'table-wrap' }, table));
    await load();
    return { el, cleanup: () => { clearTimeout(timer); loadSeq++; } };
}

// A select of the chosen collection's fields that fit (choices(col) ->
// names), drawn again when the collection changes; a current value that is
// none of them is kept.
function fieldSelect(key, label, help, none, choices) {
    return (rec, ctx, ctls) => {
        const cur = rec?.[key] || '';
        const c = field(label, h('select', {}), help);
        let first = true;
        const draw = () => {
            const name = ctls.collection.value();
            const col = ctx.all.find((x) => x.name === name || x.id === name);
            const names = col ? choices(col) : [];
            // The stored value stays shown; a choice of another collection goes.
            const was = first ? cur : c.input.value;
            if (first && was && !names.includes(was)) names.unshift(was);
            first = false;
            c.input.replaceChildren(h('option', { value: '' }, none(col)), ...names.map((n) => h('option', { value: n, selected: n === was }, n)));
        };
        ctls.collection.input.addEventListener('change', draw);
        draw();
        return { ...c, value: () => c.input.value };
    };
}

// The trigger's title with the placeholders its collection offers listed under it.
function titleInput(rec, ctx, ctls) {
    const c = field('Title', h('input', { type: 'text', value: rec?.title || '', spellcheck: false }));
    const help = h('p', { class: 'help' });
    c.wrap.insertBefore(help, c.error);
    const draw = () => {
        const col = ctx.all.find((x) => x.name === ctls.collection.value());
        const names = col ? col.fields.filter((f) => f.type !== 'password' && !f.hidden).map((f) => `{{record.${f.name}}}`) : [];
        help.textContent = 'Required unless a template is chosen below. Title and body are templates: {{record.<field>}} becomes the record\'s value as text' +
            (names.length ? `: ${names.join(', ')}.` : '.');
    };
    ctls.collection.input.addEventListener('change', draw);
    draw();
    return { ...c, value: () => c.input.value };
}

const SPECS = {
    triggers: {
        collection: '_notifyTriggers', title: 'Notification triggers', noun: 'trigger', key: 'name', sort: 'name',
        intro: 'A record change that passes a trigger notifies the users its recipients field names, with the title and body ' +
            'rendered from the record. The notify job is queued inside the write\'s transaction: a write that rolls back notifies nobody.',
        defaults: { active: true, channels: ['push'] },
        load: async () => ({ templates: await templateNames() }),
        columns: [['Name', (r) => r.name], ['Collection', (r) => r.collection],
            ['Events', (r) => (r.events?.length ? r.events.join(', ') : 'all')],
            ['Filter', (r) => (r.filter ? h('code', {}, clip(r.filter, 50)) : dash())],
            ['Recipients', (r) => r.recipients], ['Texts', (r) => (r.template ? `template ${r.template}` : clip(r.title, 40))],
            ['Channels', (r) => (r.channels?.length ? r.channels.join(', ') : 'push')],
            ['Active', (r) => (r.active ? 'yes' : 'no')]],
        fields: [
            { name: 'name', label: 'Name' },
            { name: 'collection', input: collectionInput('The collection whose record changes notify.') },
            { name: 'events', label: 'Events', help: 'None checked: all three.' },
            { name: 'filter', input: filterInput },
            {
                name: 'changed', input: fieldSelect('changed', 'Changed field', 'Optional: an update notifies only when this field\'s value changed, a create when it is set.',
                    () => '— any change —', (col) => col.fields.filter((f) => f.name !== 'id' && f.type !== 'autodate' && f.type !== 'password').map((f) => f.name)),
            },
            {
                name: 'recipients', input: fieldSelect('recipients', 'Recipients (required)', 'The record\'s field holding the user id or ids: a relation to users (or id, on users itself).',
                    (col) => (col ? '— choose —' : '— choose a collection first —'),
                    (col) => [...(col.id === USERS_ID ? ['id'] : []), ...col.fields.filter((f) => f.type === 'relation' && f.collectionId === USERS_ID).map((f) => f.name)]),
            },
            { name: 'title', input: titleInput },
            {
                name: 'body', input: (rec) => {
                    const c = field('Body', h('textarea', { rows: 3, value: rec?.body || '' }));
                    return { ...c, value: () => c.input.value };
                },
            },
            {
                name: 'template', input: (rec, ctx) => {
                    const cur = rec?.template || '';
                    const names = [...ctx.templates];
                    if (cur && !names.includes(cur)) names.unshift(cur);
                    const c = field('Template', h('select', {}, h('option', { value: '' }, '— none: the title and body above —'),
                        names.map((n) => h('option', { value: n, selected: n === cur }, n))),
                    'Instead of a title and body: a named template (see Templates), rendered in each recipient\'s language over the record as written.');
                    return { ...c, value: () => c.input.value };
                },
            },
            { name: 'data', label: 'Data', help: 'Optional JSON object sent with it (for the app).' },
            { name: 'channels', label: 'Channels', help: 'None checked: push.' },
            { name: 'category', label: 'Category', help: 'Optional; for the users\' preferences (_notifyPrefs).' },
            { name: 'active', label: 'Active' },
        ],
    },
    devices: {
        collection: '_devices', title: 'Devices', noun: 'device', key: 'token', sort: '-created', expand: 'user',
        search: 'e.g. user.email = "a@example.com" && provider = "fcm"',
        intro: 'The devices apps registered for push (through the records API: each user writes only their own). ' +
            'A token its provider reports dead is removed by the push that learns it.',
        columns: [
            ['User', (r, ctx) => userLink(r, ctx, 'devices', 'Devices of')],
            ['Provider', (r) => r.provider], ['Platform', (r) => r.platform || dash()],
            ['Token', (r) => h('code', { class: 'token' }, clip(r.token, 40))], ['App', (r) => r.appId || dash()],
            ['Locale', (r) => r.locale || dash()], ['Last seen', (r) => fmtDate(r.lastSeen) || dash()],
        ],
        fields: [
            { name: 'user', label: 'User' },
            { name: 'provider', label: 'Provider' },
            { name: 'platform', label: 'Platform' },
            { name: 'token', label: 'Token', help: 'The FCM registration token, the APNs device token (hex) or the Web Push endpoint URL.' },
            { name: 'keys', label: 'Keys', help: 'Web Push: the subscription\'s {"p256dh": …, "auth": …}.' },
            { name: 'appId', label: 'App id' },
            { name: 'locale', label: 'Locale' },
            { name: 'lastSeen', label: 'Last seen' },
        ],
    },
    templates: {
        collection: '_notifyTemplates', title: 'Notification templates', noun: 'template', key: 'name', sort: 'name,locale',
        label: (r) => `${r.name} ${r.locale || 'fallback'}`,
        search: 'e.g. name = "order_shipped" || locale ~ "pt"',
        intro: 'A named notification\'s texts in one language; one record per name and locale. Each recipient gets their own language ' +
            '(a push its device\'s, the rest the user\'s), falling back to the base language, then the fallback (no locale), then en. ' +
            'POST /api/notify and triggers name one; {{record.<field>}} becomes the record\'s value (HTML-escaped in the email\'s HTML).',
        columns: [['Name', (r) => r.name], ['Locale', (r) => r.locale || h('span', { class: 'muted' }, 'fallback')],
            ['Title', (r) => clip(r.title, 50)], ['Body', (r) => (r.body ? clip(r.body, 60) : dash())],
            ['SMS', (r) => (r.sms ? clip(r.sms, 40) : dash())], ['Email HTML', (r) => (r.html ? 'yes' : dash())]],
        fields: [
            { name: 'name', label: 'Name', help: 'e.g. order_shipped: lowercase letters, digits, _ . -' },
            { name: 'locale', label: 'Locale', help: 'e.g. en, hi, pt-BR. Empty: the fallback, for any language without its own.' },
            { name: 'title', label: 'Title' },
            { name: 'body', input: area('body', 'Body', 3) },
            { name: 'sms', input: area('sms', 'SMS text', 2, 'Empty: the title, then the body on its own line.') },
            { name: 'html', input: area('html', 'Email HTML', 5, 'The email\'s HTML body. Empty: the title and body, escaped, as paragraphs.', true) },
        ],
    },
    inbox: {
        collection: '_notifications', title: 'Inbox', noun: 'notification', key: 'title', sort: '-created', expand: 'user',
        search: 'e.g. user.email = "a@example.com" && readAt = ""',
        noCreate: 'Inbox records are made by notifications sent on the inbox channel (Send notification, triggers).',
        intro: 'The in-app inbox: one record per user and notification (the inbox channel). Apps list their user\'s own and ' +
            'mark them read (readAt); here you see everyone\'s, mark them read or unread and delete them.',
        columns: [
            ['User', (r, ctx) => userLink(r, ctx, 'inbox', 'Inbox of')],
            ['Title', (r) => clip(r.title, 60) || dash()], ['Body', (r) => (r.body ? clip(r.body, 80) : dash())],
            ['Sent', (r) => fmtDate(r.created)], ['Read', (r) => (r.readAt ? fmtDate(r.readAt) : h('strong', {}, 'unread'))],
        ],
        rowActions: (r, ctx) => h('button', {
            type: 'button', class: 'small', 'aria-label': `Mark ${r.readAt ? 'unread' : 'read'}: ${r.title || r.id}`,
            onclick: async () => {
                try {
                    await api('PATCH', `/api/collections/_notifications/records/${enc(r.id)}`, { body: { readAt: r.readAt ? '' : new Date().toISOString().replace('T', ' ') } });
                    ctx.reload();
                } catch (e) { toast(e.message, 'error'); }
            },
        }, r.readAt ? 'Mark unread' : 'Mark read'),
        fields: [
            { name: 'user', label: 'User' },
            { name: 'title', label: 'Title' },
            { name: 'body', input: area('body', 'Body', 3) },
            { name: 'data', label: 'Data', help: 'The JSON object sent with it, for the app.' },
            { name: 'readAt', label: 'Read at', help: 'Empty: unread.' },
        ],
    },
    prefs: {
        collection: '_notifyPrefs', title: 'Notification preferences', noun: 'preference', key: 'user', sort: '-updated', expand: 'user',
        label: (r) => (r.expand?.user ? presentable(r.expand.user, null) : r.user),
        search: 'e.g. user.email = "a@example.com"',
        intro: 'One record per user (apps write their own): the channels muted per category ("*": every category) and quiet hours, ' +
            'in which a push or SMS waits until they end (unless sent urgent). The server checks both when written.',
        defaults: { muted: { marketing: ['push', 'sms'] } },
        columns: [
            ['User', (r, ctx) => userLink(r, ctx, 'prefs', 'Preferences of')],
            ['Muted', (r) => {
                const m = Object.entries(r.muted || {});
                return m.length ? m.map(([cat, chans]) => `${cat === '*' ? 'every category' : cat}: ${[].concat(chans).join(', ')}`).join('; ') : dash();
            }],
            ['Quiet hours', (r) => {
                const q = r.quietHours;
                if (!q || !q.start) return dash();
                const off = Number(q.utcOffset) || 0;
                const sign = off < 0 ? '−' : '+';
                const a = Math.abs(off);
                return `${q.start}–${q.end} (UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')})`;
            }],
            ['Updated', (r) => fmtDate(r.updated)],
        ],
        fields: [
            { name: 'user', label: 'User' },
            { name: 'muted', label: 'Muted (JSON)', help: 'Category -> muted channels (push, inbox, sms, email); "*" for every category, e.g. {"marketing": ["push", "sms"], "*": ["inbox"]}.' },
            { name: 'quietHours', label: 'Quiet hours (JSON)', help: 'e.g. {"start": "22:00", "end": "07:00", "utcOffset": 330} (utcOffset: minutes east of UTC). Empty: none.' },
        ],
    },
};

// A multi-line text input for a text field of the record (its stored value in it).
function area(name, label, rows, help, code = false) {
    return (rec) => {
        const c = field(label, h('textarea', { rows, class: code ? 'code' : null, spellcheck: !code, value: rec?.[name] || '' }), help);
        return { ...c, value: () => c.input.value };
    };
}

// A row's user, a link to the screen's own list of theirs.
function userLink(r, ctx, path, what) {
    const users = ctx.all.find((c) => c.id === USERS_ID);
    const name = r.expand?.user ? presentable(r.expand.user, users) : r.user;
    return h('a', { href: `#/${path}/${enc(r.user)}`, 'aria-label': `${what} ${name}` }, name);
}

// #/devices/USER (and #/inbox/USER, #/prefs/USER): that user's own.
export const notifyTable = (which, userId) => sysScreen(SPECS[which], userId ? `user = ${JSON.stringify(userId)}` : '');
