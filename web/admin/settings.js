// settings.js -- the settings screen (GET/PATCH /api/settings, PocketBase's
// shape). The form is built from SECTIONS, a table of options: [dotted path,
// label, kind, help, options]; a kind (KINDS) makes the input and reads it
// back. Save sends the options that changed (a list whole), as the server
// checks only what a body touches. A path in the answer's
// "locked" list (set by a flag) is shown disabled with a note and never
// sent changed; a secret (smtp.password, the push keys, the SMS provider's
// keys, the S3 and embedding keys) is never returned: its input starts
// empty, empty keeps it, and the answer's "secretsSet" list says whether it
// holds a value ("Set" / "Not set" under the input).
// The server's field errors (data, nested by path) are shown under their
// inputs.
import { h, field, toast, modal, showErrors, clearErrors, applyAccent } from './dom.js';
import { api, auth, collections, setUiMeta } from './api.js';
import { LEVELS } from './logs.js';

const WO = 'Write-only: never shown; empty keeps the current value.';
const OVERRIDE = 'For tests or a proxy; empty:';

// PocketBase's S3Config rows, for s3 and backups.s3.
function s3Rows(at) {
    const what = at === 's3' ? 'S3 storage' : 'Backups in S3';
    return [
        [`${at}.enabled`, what, 'toggle'],
        [`${at}.endpoint`, `${what}: endpoint`, 'url', 'e.g. https://s3.eu-central-1.amazonaws.com'],
        [`${at}.bucket`, `${what}: bucket`, 'text'],
        [`${at}.region`, `${what}: region`, 'text'],
        [`${at}.accessKey`, `${what}: access key`, 'text'],
        [`${at}.secret`, `${what}: secret`, 'secret', WO],
        [`${at}.forcePathStyle`, `${what}: path-style URLs`, 'bool', 'For MinIO and others without virtual-host buckets.'],
    ];
}
const LOCK_NOTE = 'Locked: set by a flag or its environment variable (restart without it to change it here).';

// kind -> {input(value, options) -> element, read(element) -> value (undefined: keep; throws a message)}
const text = (type) => ({
    input: (v) => h('input', { type, value: v ?? '', spellcheck: false, autocomplete: 'off' }),
    read: (el) => el.value.trim(),
});
const KINDS = {
    text: text('text'), url: text('url'), email: text('email'),
    color: {
        input: (v) => h('input', { type: 'color', value: /^#[0-9a-fA-F]{6}$/.test(v || '') ? v : '#1055c9' }),
        read: (el) => el.value,
    },
    number: {
        input: (v) => h('input', { type: 'number', step: '1', inputMode: 'numeric', value: String(v ?? 0) }),
        read: (el) => {
            const n = el.value.trim() === '' ? 0 : Number(el.value);
            if (!Number.isSafeInteger(n)) throw 'Must be a whole number.';
            return n;
        },
    },
    bool: { input: (v) => h('input', { type: 'checkbox', checked: !!v }), read: (el) => el.checked },
    toggle: { input: (v) => h('input', { type: 'checkbox', checked: !!v }), read: (el) => el.checked, wide: true }, // a provider's: starts its rows
    // Secrets are never returned: their inputs start empty, and empty keeps the stored value.
    secret: {
        input: () => h('input', { type: 'password', autocomplete: 'new-password', value: '' }),
        read: (el) => el.value || undefined, secret: true,
    },
    secretText: { // a key file's text (PEM, JSON)
        input: () => h('textarea', { rows: 3, class: 'code', spellcheck: false, autocomplete: 'off', value: '' }),
        read: (el) => el.value.trim() || undefined, secret: true,
    },
    secretList: { // one per line
        input: () => h('textarea', { rows: 2, class: 'code', spellcheck: false, autocomplete: 'off', value: '' }),
        read: (el) => (el.value.trim() ? el.value.split('\n').map((x) => x.trim()).filter(Boolean) : undefined), secret: true,
    },
    longText: {
        input: (v) => h('textarea', { rows: 3, class: 'code', spellcheck: false, value: v ?? '' }),
        read: (el) => el.value.trim(),
    },
    select: {
        input: (v, opts) => h('select', {}, opts.map(([o, l]) => h('option', { value: String(o), selected: o === v }, l))),
        read: (el) => (/^-?\d+$/.test(el.value) ? Number(el.value) : el.value),
    },
    // A list of strings: one per line (commas work too).
    list: {
        input: (v) => h('textarea', { rows: 2, class: 'code', spellcheck: false, value: (v || []).join('\n') }),
        read: (el) => el.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean),
    },
};

const SECTIONS = [
    {
        title: 'Application', fields: [
            ['meta.appName', 'Application name', 'text', 'Used in mails ({APP_NAME} in the templates).'],
            ['meta.appURL', 'Application URL', 'url', 'The base of the links in mails ({APP_URL}), e.g. https://api.example.com.'],
            ['meta.accentColor', 'Dashboard accent colour', 'color', 'Buttons and links of this dashboard.'],
            ['meta.hideControls', 'Hide collection and record controls', 'bool',
                'Against accidental changes in production: no collection create or edit buttons here, and a record\'s form saves only after Unlock.'],
        ],
    },
    {
        title: 'Mail', intro: 'Without SMTP, mails are written to the server log. Mails go out as jobs of kind email (see Jobs).',
        fields: [
            ['meta.senderName', 'Sender name', 'text'],
            ['meta.senderAddress', 'Sender address', 'email'],
            ['smtp.enabled', 'Send through an SMTP server', 'bool'],
            ['smtp.host', 'SMTP host', 'text'],
            ['smtp.port', 'SMTP port', 'number', '587 (STARTTLS) or 465 (TLS).'],
            ['smtp.username', 'SMTP username', 'text'],
            ['smtp.password', 'SMTP password', 'secret', WO],
            ['smtp.authMethod', 'Auth method', 'select', null, [['', 'Automatic'], ['PLAIN', 'PLAIN'], ['LOGIN', 'LOGIN']]],
            ['smtp.tls', 'TLS from the first byte (port 465)', 'bool', 'Otherwise STARTTLS when the server offers it.'],
            ['smtp.localName', 'Local name (EHLO)', 'text', 'Empty: localhost.'],
        ],
        extra: () => h('button', { type: 'button', onclick: testMail }, 'Send a test email…'),
    },
    {
        title: 'Batch requests', intro: 'POST /api/batch: several record writes in one transaction.',
        fields: [
            ['batch.enabled', 'Enabled', 'bool'],
            ['batch.maxRequests', 'Max requests per batch', 'number'],
            ['batch.timeout', 'Timeout (seconds)', 'number'],
            ['batch.maxBodySize', 'Max body size (bytes)', 'number', '0: the server\'s --max-body.'],
        ],
    },
    {
        title: 'Rate limits', intro: 'Requests per client IP. A label is a path ("/api/" a prefix, "/api/health" exact), "POST /api/batch", or "*:auth" for the sign-in endpoints.',
        fields: [
            ['rateLimits.enabled', 'Enabled', 'bool'],
            ['rateLimits.rules', 'Rules', 'rules'],
            ['rateLimits.excludedIPs', 'Excluded IPs', 'list', 'IPs or CIDRs no limit counts, one per line.'],
        ],
    },
    {
        title: 'Trusted proxy', intro: 'Behind a proxy, the client\'s IP is read from a header, only on requests from these addresses.',
        fields: [
            ['trustedProxy.headers', 'Header', 'list', 'One header name, e.g. X-Forwarded-For or X-Real-IP.'],
            ['trustedProxy.proxies', 'Proxy addresses', 'list', 'IPs or CIDRs, one per line.'],
            ['trustedProxy.useLeftmostIP', 'Use the leftmost IP of the header', 'bool', 'Otherwise the rightmost (the one your proxy added).'],
        ],
    },
    {
        title: 'Superuser access', fields: [
            ['superuserIPs', 'Superuser IPs', 'list', 'IPs or CIDRs, one per line; a superuser\'s token from elsewhere is refused (403). Empty: anywhere.'],
        ],
    },
    {
        title: 'Push notifications', intro: 'The providers POST /api/notify and the notify triggers send through (tarmac\'s, beside PocketBase\'s options).',
        fields: [
            ['push.fcm.enabled', 'Firebase Cloud Messaging', 'toggle'],
            ['push.fcm.serviceAccount', 'FCM service account key (JSON)', 'secretText', `From the Firebase console. ${WO}`],
            ['push.fcm.tokenURL', 'FCM token URL (override)', 'url', `${OVERRIDE} https://oauth2.googleapis.com/token.`],
            ['push.fcm.apiURL', 'FCM API URL (override)', 'url', `${OVERRIDE} https://fcm.googleapis.com.`],
            ['push.apns.enabled', 'Apple Push Notification service', 'toggle'],
            ['push.apns.keyId', 'APNs key id', 'text'],
            ['push.apns.teamId', 'APNs team id', 'text'],
            ['push.apns.key', 'APNs key (.p8)', 'secretText', WO],
            ['push.apns.topic', 'APNs topic', 'text', 'The app\'s bundle id.'],
            ['push.apns.production', 'Apple\'s production host', 'bool', 'Otherwise the sandbox.'],
            ['push.apns.apiURL', 'APNs host (override)', 'url', `${OVERRIDE} Apple's production or sandbox host, as chosen above.`],
            ['push.apns.caPEM', 'APNs CA certificates (override, PEM)', 'longText', 'Empty: the system\'s CAs. The certificates the host\'s must chain to, for a test server.'],
            ['push.webPush.enabled', 'Web Push', 'toggle'],
            ['push.webPush.subject', 'Web Push subject', 'text', 'A mailto: address or https URL the push services can reach you at.'],
            ['push.webPush.privateKey', 'VAPID private key (PEM)', 'secretText', `${WO} One is made when Web Push is enabled without one.`],
        ],
        extra: webPushKey,
    },
    {
        title: 'Embeddings', intro: 'The endpoint that computes the vectors of collections with an embedding option: an OpenAI-compatible POST /v1/embeddings (OpenAI, llama.cpp, Ollama…). Embeddings are computed by jobs of kind embed.',
        fields: [
            ['embeddings.url', 'Embeddings URL', 'url', 'e.g. http://127.0.0.1:8080/v1/embeddings. Empty: no embeddings computed.'],
            ['embeddings.model', 'Embeddings model', 'text', 'Required with a URL, e.g. nomic-embed-text.'],
            ['embeddings.apiKey', 'Embeddings API key', 'secret', `Sent as Authorization: Bearer <key>. ${WO}`],
        ],
    },
    {
        title: 'SMS', intro: 'Texts (sms jobs, phone sign-in codes) go through the chosen provider; only its fields are needed.',
        fields: [
            ['sms.provider', 'Provider', 'select', null, [['', 'None'], ['twilio', 'Twilio'], ['msg91', 'MSG91'], ['http', 'HTTP gateway']]],
            ['sms.twilio.accountSid', 'Twilio account SID', 'text'],
            ['sms.twilio.authToken', 'Twilio auth token', 'secret', WO],
            ['sms.twilio.from', 'Twilio sender (From)', 'text'],
            ['sms.twilio.apiURL', 'Twilio API URL (override)', 'url', `${OVERRIDE} https://api.twilio.com.`],
            ['sms.twilio.statusCallback', 'Twilio delivery reports URL', 'url', 'Where Twilio posts each text\'s status: an inbound webhook with the twilio scheme, e.g. https://your.app/api/webhooks/sms-status.'],
            ['sms.msg91.authKey', 'MSG91 auth key', 'secret', WO],
            ['sms.msg91.flowId', 'MSG91 flow id', 'text'],
            ['sms.msg91.sender', 'MSG91 sender id', 'text'],
            ['sms.msg91.textVar', 'MSG91 text variable', 'text', 'The flow\'s variable that carries the text.'],
            ['sms.msg91.apiURL', 'MSG91 API URL (override)', 'url', `${OVERRIDE} https://control.msg91.com.`],
            ['sms.http.url', 'Gateway URL', 'url'],
            ['sms.http.method', 'Gateway method', 'select', null, [['POST', 'POST'], ['PUT', 'PUT'], ['GET', 'GET']]],
            ['sms.http.headers', 'Gateway headers', 'secretList', `"Name: value" lines (they carry keys). ${WO}`],
            ['sms.http.body', 'Gateway body', 'longText', '{{to}} and {{text}} become the values, escaped as JSON string content.'],
        ],
    },
    {
        title: 'File storage (S3)', intro: 'New uploads go to an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Backblaze) when enabled; files already stored stay where they are.',
        fields: s3Rows('s3'),
        extra: () => s3Test('storage'),
    },
    {
        title: 'Backups', intro: 'Automatic backups, kept in the data directory or in the S3 bucket below when enabled.',
        fields: [
            ['backups.cron', 'Schedule (cron, UTC)', 'text', 'Five fields or a macro, e.g. 0 3 * * * or @daily. Empty: no automatic backups.'],
            ['backups.cronMaxKeep', 'Automatic backups kept', 'number', 'The oldest beyond this are deleted.'],
            ...s3Rows('backups.s3'),
        ],
        extra: () => s3Test('backups'),
    },
    {
        title: 'Request log', intro: 'Each request becomes an entry of the Logs screen.',
        fields: [
            ['logs.maxDays', 'Keep entries (days)', 'number', '0 turns the request log off.'],
            ['logs.minLevel', 'Lowest level kept', 'select', null, LEVELS],
            ['logs.logIP', 'Keep client IPs', 'bool'],
            ['logs.logAuthId', 'Keep the auth record id', 'bool'],
        ],
    },
];

const get = (o, path) => path.split('.').reduce((x, k) => (x == null ? undefined : x[k]), o);
function put(o, path, v) {
    const keys = path.split('.');
    const last = keys.pop();
    for (const k of keys) o = o[k] ??= {};
    o[last] = v;
}
const isLocked = (locked, path) => locked.some((l) => path === l || path.startsWith(l + '.'));

// {meta: {appURL: {code, message}}} -> [['meta.appURL', message]]
function flatErrors(data, prefix = '', out = []) {
    for (const [k, v] of Object.entries(data || {})) {
        if (!v || typeof v !== 'object') continue;
        if (typeof v.message === 'string' && typeof v.code === 'string') out.push([prefix + k, v.message]);
        else flatErrors(v, prefix + k + '.', out);
    }
    return out;
}

// A control of SECTIONS: {wrap, path, locked, read(), setError()}.
function control([path, label, kind, help, opts], cur, locked) {
    if (kind === 'rules') return rulesEditor(path, label, get(cur, path) || [], locked);
    const k = KINDS[kind];
    const c = field(label, k.input(get(cur, path), opts), help);
    if (k.wide) c.wrap.classList.add('wide');
    if (locked) {
        c.input.disabled = true;
        c.wrap.append(h('p', { class: 'help lock' }, LOCK_NOTE));
    }
    // A secret: whether it holds a value, never the value.
    let showSet = null;
    if (k.secret) {
        const state = h('p', { class: 'help secret-state', id: c.input.id + '-state' });
        c.wrap.insertBefore(state, c.error);
        c.input.setAttribute('aria-describedby', `${c.error.id} ${state.id}`); // the error's first
        showSet = (s) => {
            const set = (s.secretsSet || []).includes(path);
            state.textContent = set ? 'Set (type a new value to replace it).' : 'Not set.';
            state.classList.toggle('is-set', set);
        };
        showSet(cur);
    }
    return { ...c, path, locked, secret: k.secret, showSet, read: () => k.read(c.input) };
}

// rateLimits.rules: a row per rule (label, max requests, seconds). Its
// inputs are controls of their own, at "rateLimits.rules.N.<key>".
function rulesEditor(path, label, rules, locked) {
    const list = h('div', { class: 'rules' });
    const rows = [];
    const num = (key, l, v) => ({ key, ...field(l, KINDS.number.input(v)) });
    const addRow = (r) => {
        const parts = [{ key: 'label', ...field('Label', KINDS.text.input(r.label)) },
            num('maxRequests', 'Max requests', r.maxRequests), num('duration', 'Per (seconds)', r.duration)];
        const row = { r, parts, el: null };
        const legend = h('legend', {});
        const remove = h('button', {
            type: 'button', class: 'small danger', disabled: locked,
            onclick: () => { rows.splice(rows.indexOf(row), 1); row.el.remove(); renumber(); },
        }, 'Remove');
        row.el = h('fieldset', { class: 'rule-row' }, legend, parts.map((p) => p.wrap), remove);
        row.legend = legend;
        row.remove = remove;
        for (const p of parts) p.input.disabled = locked;
        rows.push(row);
        list.append(row.el);
        renumber();
        return row;
    };
    const renumber = () => rows.forEach((row, i) => {
        row.legend.textContent = `Rule ${i + 1}`;
        row.remove.setAttribute('aria-label', `Remove rule ${i + 1}`);
    });
    rules.forEach(addRow);
    const error = h('p', { class: 'err', hidden: true, id: 'rules-err' });
    const wrap = h('fieldset', { class: 'field' }, h('legend', {}, label), list,
        h('button', {
            type: 'button', class: 'small', disabled: locked,
            onclick: () => addRow({ label: '', audience: '', maxRequests: 100, duration: 60 }).parts[0].input.focus(),
        }, 'Add rule'),
        locked ? h('p', { class: 'help lock' }, LOCK_NOTE) : null, error);
    const self = {
        wrap, path, locked,
        setError: (msg) => { error.textContent = msg || ''; error.hidden = !msg; },
        read: () => rows.map((row) => {
            const v = { ...row.r, label: row.parts[0].input.value.trim() };
            for (const p of row.parts.slice(1)) v[p.key] = KINDS.number.read(p.input);
            return v;
        }),
        // The row inputs as controls keyed by their current paths.
        subs: () => Object.fromEntries(rows.flatMap((row, i) => row.parts.map((p) => [`${path}.${i}.${p.key}`, p]))),
    };
    return self;
}

export async function settingsScreen() {
    let cur = await api('GET', '/api/settings');
    const locked = cur.locked || [];
    const controls = [];
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const extras = []; // a section's extra node; its refresh(cur) runs after a save
    const sections = SECTIONS.map((s) => {
        const ctls = s.fields.map((f) => control(f, cur, isLocked(locked, f[0])));
        controls.push(...ctls);
        return h('section', { class: 'card settings-part', 'aria-label': s.title }, h('h2', {}, s.title),
            s.intro ? h('p', { class: 'help' }, s.intro) : null,
            h('div', { class: 'grid' }, ctls.map((c) => c.wrap)), s.extra ? extras[extras.push(s.extra(cur)) - 1] : null);
    });

    // Every control by path, the rules' row inputs included.
    const byPath = () => Object.assign(Object.fromEntries(controls.map((c) => [c.path, c])), ...controls.map((c) => (c.subs ? c.subs() : {})));

    async function save(e) {
        e.preventDefault();
        const ctls = byPath();
        clearErrors(ctls, formError);
        // Only the options that changed: the server checks what a body touches.
        const body = {};
        const bad = {};
        for (const c of controls) {
            if (c.locked) continue;
            try {
                const v = c.read();
                if (v !== undefined && JSON.stringify(v) !== JSON.stringify(get(cur, c.path))) put(body, c.path, v);
            } catch (msg) { bad[c.path] = { message: String(msg) }; }
        }
        if (Object.keys(bad).length) { showErrors({ message: 'Not saved.', data: bad }, ctls, formError); return; }
        if (!Object.keys(body).length) { toast('Nothing changed.'); return; }
        try {
            cur = await api('PATCH', '/api/settings', { body });
            for (const c of controls) if (c.secret) { c.input.value = ''; c.showSet(cur); }
            for (const x of extras) if (x.refresh) x.refresh(cur);
            setUiMeta(cur.meta);
            applyAccent(cur.meta?.accentColor);
            toast('Settings saved and applied.');
        } catch (err) {
            // Each error on the control of its path (the longest that is a
            // prefix: "superuserIPs.1" is the list's second entry); the rest in the message.
            const data = {}, rest = [];
            const keys = Object.keys(ctls).sort((a, b) => b.length - a.length);
            for (const [p, msg] of flatErrors(err.data)) {
                const k = keys.find((x) => p === x || p.startsWith(x + '.'));
                const tail = k ? p.slice(k.length + 1) : '';
                if (k && !data[k]) data[k] = { message: (/^\d+$/.test(tail) ? `Entry ${+tail + 1}: ` : tail ? tail + ': ' : '') + msg };
                else rest.push(`${p}: ${msg}`);
            }
            showErrors({ message: [err.message, ...rest].join(' '), data }, ctls, formError);
        }
    }

    const el = h('section', { class: 'settings-screen' },
        h('div', { class: 'bar' }, h('h1', {}, 'Settings')),
        h('p', { class: 'intro' }, 'Changes apply at once, without a restart.'),
        h('form', { noValidate: true, onsubmit: save }, sections, formError,
            h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary' }, 'Save changes'))));
    return { el, cleanup: null };
}

// The VAPID public key web apps subscribe with (GET /api/notify/webpush-key,
// asked only while Web Push is on: it answers 404 otherwise).
function webPushKey(cur) {
    const out = h('output', { class: 'code key' });
    const copy = h('button', { type: 'button', class: 'small', onclick: () => navigator.clipboard?.writeText(out.textContent).then(() => toast('Copied.')) }, 'Copy');
    const box = h('div', { class: 'webpush-key', hidden: true }, h('p', { class: 'help' }, 'Web Push public key (GET /api/notify/webpush-key gives it to any client):'), out, ' ', copy);
    box.refresh = async (s) => {
        box.hidden = true;
        if (!s.push?.webPush?.enabled) return;
        try {
            out.textContent = (await api('GET', '/api/notify/webpush-key')).publicKey;
            box.hidden = false;
        } catch (e) { toast(e.message, 'error'); }
    };
    box.refresh(cur);
    return box;
}

// POST /api/settings/test/s3: the saved S3 config of storage (s3) or
// backups (backups.s3) writes and deletes a test file; S3's answer shown.
function s3Test(filesystem) {
    const out = h('p', { class: 'help s3-test', role: 'status' });
    const btn = h('button', {
        type: 'button', onclick: async () => {
            out.textContent = 'Testing…';
            out.classList.remove('err');
            btn.disabled = true;
            try {
                await api('POST', '/api/settings/test/s3', { body: { filesystem } });
                out.textContent = 'The bucket works: a test file was written and deleted.';
            } catch (e) {
                out.textContent = e.message;
                out.classList.add('err');
            } finally { btn.disabled = false; }
        },
    }, filesystem === 'storage' ? 'Test S3 storage' : 'Test the backups\' S3');
    return h('div', { class: 's3-test-box' }, h('p', { class: 'help' }, 'Tests the saved settings (save your changes first).'), btn, out);
}

const TEMPLATES = [['verification', 'Verification'], ['password-reset', 'Password reset'], ['email-change', 'Email change'],
    ['otp', 'One-time password'], ['login-alert', 'Login alert']];

// POST /api/settings/test/email: queued as an email job with the saved settings.
async function testMail() {
    let auths = [];
    try { auths = (await collections()).filter((c) => c.type === 'auth'); } catch (e) { toast(e.message, 'error'); return; }
    await modal('Send a test email', (close) => {
        const ctls = {
            email: field('To', h('input', { type: 'email', autocomplete: 'email', value: auth.record?.email || '' })),
            template: field('Template', h('select', {}, TEMPLATES.map(([v, l]) => h('option', { value: v }, l)))),
            collection: field('Auth collection', h('select', {}, auths.map((c) => h('option', { value: c.name, selected: c.name === '_superusers' }, c.name))),
                'Its template of that name is sent.'),
        };
        const formError = h('p', { class: 'err', role: 'alert', hidden: true });
        return h('form', {
            noValidate: true, onsubmit: async (e) => {
                e.preventDefault();
                clearErrors(ctls, formError);
                try {
                    await api('POST', '/api/settings/test/email', { body: Object.fromEntries(Object.entries(ctls).map(([k, c]) => [k, c.input.value])) });
                    toast('Test email queued: its job (kind email) shows how it went.');
                    close(true);
                } catch (err) { showErrors(err, ctls, formError); }
            },
        }, h('p', { class: 'help' }, 'Sent with the saved settings (save your changes first).'),
        Object.values(ctls).map((c) => c.wrap), formError,
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
            h('button', { type: 'submit', class: 'primary' }, 'Send')));
    });
}
