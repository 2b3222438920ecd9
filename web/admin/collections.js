// collections.js -- the collections list and the collection editor: name and
// type, every field type with its options, API rules checked as you type
// (filter.js) with the server's validation errors shown on the rule they
// concern, indexes, and the auth options of auth collections. A view
// collection has a query instead: its fields (shown read-only) are what the
// server infers from it, and only its list and view rules apply.
import { h, field, setError, toast, confirmDialog } from './dom.js';
import { api, collections, forgetCollections, enc, uiMeta } from './api.js';
import { checkFilter } from './filter.js';
import { oauth2Section, tokensSection, searchSection, embeddingSection, optionsForSave } from './colopts.js';

export const FIELD_TYPES = ['text', 'number', 'bool', 'email', 'url', 'editor', 'date', 'autodate', 'select', 'json',
    'file', 'relation', 'password', 'geoPoint', 'vector'];

// Per type: [key, kind, label]; kinds: int, num (nullable number), text, list (comma-separated), bool, collection.
const OPTIONS = {
    text: [['min', 'int', 'Min length'], ['max', 'int', 'Max length'], ['pattern', 'text', 'Pattern (regex)'],
        ['autogeneratePattern', 'text', 'Autogenerate pattern']],
    number: [['min', 'num', 'Min'], ['max', 'num', 'Max'], ['onlyInt', 'bool', 'Integers only']],
    bool: [],
    email: [['onlyDomains', 'list', 'Only domains'], ['exceptDomains', 'list', 'Except domains']],
    url: [['onlyDomains', 'list', 'Only domains'], ['exceptDomains', 'list', 'Except domains']],
    editor: [['maxSize', 'int', 'Max size (bytes)'], ['convertURLs', 'bool', 'Convert URLs']],
    date: [['min', 'text', 'Min date'], ['max', 'text', 'Max date']],
    autodate: [['onCreate', 'bool', 'Set on create'], ['onUpdate', 'bool', 'Set on update']],
    select: [['values', 'list', 'Values'], ['maxSelect', 'int', 'Max selected']],
    json: [['maxSize', 'int', 'Max size (bytes)']],
    file: [['maxSelect', 'int', 'Max files'], ['maxSize', 'int', 'Max size (bytes)'], ['mimeTypes', 'list', 'MIME types'],
        ['thumbs', 'list', 'Thumb sizes (WxH)'], ['protected', 'bool', 'Protected']],
    relation: [['collectionId', 'collection', 'Related collection'], ['cascadeDelete', 'bool', 'Cascade delete'],
        ['minSelect', 'int', 'Min selected'], ['maxSelect', 'int', 'Max selected']],
    password: [['min', 'int', 'Min length'], ['max', 'int', 'Max length'], ['pattern', 'text', 'Pattern (regex)'],
        ['cost', 'int', 'bcrypt cost']],
    geoPoint: [],
    vector: [['dimensions', 'int', 'Dimensions (1-4096)']],
};
const DEFAULTS = {
    select: { values: [], maxSelect: 1 }, file: { maxSelect: 1, maxSize: 0, mimeTypes: [], thumbs: [], protected: false },
    relation: { collectionId: '', cascadeDelete: false, minSelect: 0, maxSelect: 1 },
    autodate: { onCreate: true, onUpdate: false }, number: { min: null, max: null, onlyInt: false },
};
const RULES = [['listRule', 'List/search'], ['viewRule', 'View'], ['createRule', 'Create'], ['updateRule', 'Update'],
    ['deleteRule', 'Delete']];
const AUTH_RULES = [['authRule', 'Authentication'], ['manageRule', 'Manage (other accounts)']];

// Settings' meta.hideControls (PocketBase's): no collection create or edit
// controls, and a record's form starts locked.
export const HIDDEN_NOTE = 'Collection controls are hidden (Settings: Hide collection and record controls).';

export async function collectionList() {
    const [list, meta] = await Promise.all([collections(true), uiMeta()]);
    const hide = !!meta.hideControls;
    const rows = list.map((c) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: '#/records/' + enc(c.name) }, c.name)),
        h('td', {}, c.type), h('td', {}, String(c.fields.length)),
        h('td', {}, c.system ? 'system' : ''),
        h('td', {}, hide ? null : h('a', { href: `#/collections/${enc(c.name)}/edit`, 'aria-label': 'Edit collection ' + c.name }, 'Edit'))));
    return h('section', {},
        h('div', { class: 'bar' }, h('h1', {}, 'Collections'),
            hide ? null : h('a', { class: 'button primary', href: '#/collections/new' }, 'New collection')),
        hide ? h('p', { class: 'intro' }, HIDDEN_NOTE) : null,
        h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, ['Name', 'Type', 'Fields', '', ''].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, rows))));
}

function fieldRow(f, ctx) {
    const isNew = !f.id;
    const errs = {};
    const ctl = (key, input, label, help) => {
        const c = field(label, input, help);
        errs[key] = c;
        return c.wrap;
    };
    const title = h('legend', {}, `${f.name || 'new field'} `, h('span', { class: 'tag' }, f.type));
    const name = h('input', {
        type: 'text', value: f.name, disabled: f.system, required: true,
        oninput: () => { f.name = name.value; title.firstChild.textContent = `${f.name || 'new field'} `; ctx.changed(); },
    });
    const check = (key, label) => {
        const i = h('input', { type: 'checkbox', checked: !!f[key], onchange: () => { f[key] = i.checked; } });
        return ctl(key, i, label);
    };
    const opts = (OPTIONS[f.type] || []).map(([key, kind, label]) => {
        if (kind === 'bool') return check(key, label);
        if (kind === 'collection') {
            const sel = h('select', { disabled: !isNew, onchange: () => { f[key] = sel.value; } },
                h('option', { value: '' }, '— choose —'),
                ctx.all.map((c) => h('option', { value: c.id, selected: c.id === f[key] }, c.name)));
            return ctl(key, sel, label);
        }
        const i = h('input', {
            type: kind === 'int' || kind === 'num' ? 'number' : 'text', step: kind === 'num' ? 'any' : '1',
            value: kind === 'list' ? (f[key] || []).join(', ') : f[key] ?? '',
            oninput: () => {
                const v = i.value.trim();
                if (kind === 'list') f[key] = v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
                else if (kind === 'int') f[key] = v === '' ? 0 : parseInt(v, 10);
                else if (kind === 'num') f[key] = v === '' ? null : Number(v);
                else f[key] = i.value;
            },
        });
        return ctl(key, i, label, kind === 'list' ? 'Comma-separated.' : null);
    });
    const fs = h('fieldset', { class: 'frow' }, title,
        h('div', { class: 'grid' }, ctl('name', name, 'Name'),
            f.type !== 'autodate' ? check('required', 'Required') : null,
            check('hidden', 'Hidden'), check('presentable', 'Presentable'),
            f.type !== 'autodate' ? ctl('help', h('input', { type: 'text', value: f.help || '', oninput: (e) => { f.help = e.target.value; } }), 'Help text') : null,
            opts),
        f.system ? null : h('div', { class: 'actions' }, h('button', {
            type: 'button', class: 'danger', onclick: () => ctx.remove(f),
        }, `Remove field ${f.name || ''}`.trim())));
    return {
        el: fs, f,
        setErrors(data) {
            for (const [k, c] of Object.entries(errs)) c.setError(data?.[k]?.message || '');
            const other = data && Object.entries(data).filter(([k]) => !errs[k]);
            if (other && other.length) errs.name.setError(other.map(([k, v]) => `${k}: ${v.message || JSON.stringify(v)}`).join(' '));
        },
    };
}

export async function collectionEditor(name) {
    const [all, meta, providers] = await Promise.all([collections(true), uiMeta(),
        api('GET', '/api/collections/meta/oauth2-providers')]);
    const hide = !!meta.hideControls;
    let col;
    if (name) {
        col = structuredClone(await api('GET', '/api/collections/' + enc(name)));
    } else {
        const sc = await api('GET', '/api/collections/meta/scaffolds');
        col = structuredClone(sc.base);
        col._scaffolds = sc;
        col.listRule = col.viewRule = col.createRule = col.updateRule = col.deleteRule = null;
    }
    const isNew = !name;
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const fieldsBox = h('div', {});
    let rows = [];
    const ruleChecks = [];
    // The option sections of colopts.js (OAuth2, tokens, search, embedding): redrawn with the type.
    let sections = [];
    let authSections = [];
    const ctx = {
        all,
        changed: () => { ruleChecks.forEach((fn) => fn()); [...sections, ...authSections].forEach((x) => x.refresh()); },
        remove: (f) => { col.fields = col.fields.filter((x) => x !== f); drawFields(); ctx.changed(); },
    };
    const isView = () => col.type === 'view';
    function drawFields() {
        if (isView()) {
            rows = [];
            fieldsBox.replaceChildren(h('p', { class: 'help' },
                'A view\'s fields are its query\'s columns, inferred when it is saved.'),
            col.fields.length ? h('ul', {}, col.fields.map((f) => h('li', {}, h('code', {}, f.name), ` ${f.type}`))) : null);
            return;
        }
        rows = col.fields.map((f) => fieldRow(f, ctx));
        fieldsBox.replaceChildren(...rows.map((r) => r.el));
    }
    drawFields();

    const nameCtl = field('Name', h('input', { type: 'text', value: col.name, required: true, oninput: (e) => { col.name = e.target.value; } }));
    const typeSel = h('select', {
        disabled: !isNew,
        onchange: () => {
            const sc = col._scaffolds[typeSel.value];
            const mine = col.fields.filter((f) => !f.system && !sc.fields.some((s) => s.name === f.name));
            Object.assign(col, structuredClone(sc), { name: col.name, fields: [...structuredClone(sc.fields), ...mine], _scaffolds: col._scaffolds });
            for (const [k] of RULES) col[k] = null;
            if (isView()) col.fields = [];
            drawFields(); drawAuth(); drawRules(); drawKind(); drawOpts();
        },
    }, ['base', 'auth', 'view'].map((t) => h('option', { value: t, selected: col.type === t }, t)));
    const typeCtl = field('Type', typeSel);

    // A view's query: one read-only SELECT with an id column (the server checks it).
    const queryCtl = field('View query', h('textarea', {
        rows: 6, value: col.viewQuery || '', spellcheck: false, class: 'code',
        oninput: (e) => { col.viewQuery = e.target.value; },
    }), 'A single SELECT with an "id" column, e.g. SELECT p.id, p.title, count(c.id) AS comments '
        + 'FROM posts p LEFT JOIN comments c ON c.post = p.id GROUP BY p.id. Records of a view are read-only.');

    const newType = h('select', {}, FIELD_TYPES.map((t) => h('option', { value: t }, t)));
    const addField = h('div', { class: 'inline' }, field('New field type', newType).wrap,
        h('button', {
            type: 'button', onclick: () => {
                const t = newType.value;
                const f = { name: '', type: t, required: false, hidden: false, presentable: false, system: false, ...structuredClone(DEFAULTS[t] || {}) };
                col.fields.push(f);
                drawFields();
                rows[rows.length - 1].el.querySelector('input').focus();
            },
        }, 'Add field'));

    // Rules: a lock (null = superusers only) or a filter expression.
    const rulesBox = h('div', {});
    const ruleErr = {};
    function ruleCtl(key, label) {
        const locked = col[key] === null || col[key] === undefined;
        const ta = h('textarea', { rows: 2, value: locked ? '' : col[key], disabled: locked, spellcheck: false, class: 'code' });
        const c = field(label + ' rule', ta, null);
        const lock = h('input', {
            type: 'checkbox', checked: locked, onchange: () => {
                ta.disabled = lock.checked;
                col[key] = lock.checked ? null : ta.value;
                run();
            },
        });
        const lockC = field('Superusers only', lock);
        const run = () => {
            if (lock.checked) { c.setError(''); return; }
            const e = checkFilter(ta.value, col.fields.map((f) => f.name));
            c.setError(e ? `${e.message} (at ${e.offset})` : '');
        };
        ta.addEventListener('input', () => { col[key] = ta.value; run(); });
        ruleChecks.push(run);
        ruleErr[key] = c;
        return h('div', { class: 'rule' }, c.wrap, lockC.wrap);
    }
    function drawRules() {
        ruleChecks.length = 0;
        rulesBox.replaceChildren(...(isView() ? RULES.slice(0, 2) : RULES).map(([k, l]) => ruleCtl(k, l)),
            ...(col.type === 'auth' ? AUTH_RULES.map(([k, l]) => ruleCtl(k, l)) : []));
    }
    drawRules();

    const idxBox = h('div', {});
    let idxCtls = [];
    function drawIndexes() {
        idxCtls = (col.indexes || []).map((sql, i) => {
            const ta = h('textarea', { rows: 2, value: sql, spellcheck: false, class: 'code', oninput: () => { col.indexes[i] = ta.value; } });
            const c = field(`Index ${i + 1}`, ta);
            c.wrap.append(h('button', { type: 'button', class: 'danger', onclick: () => { col.indexes.splice(i, 1); drawIndexes(); } }, `Remove index ${i + 1}`));
            return c;
        });
        idxBox.replaceChildren(...idxCtls.map((c) => c.wrap),
            h('button', {
                type: 'button', onclick: () => {
                    col.indexes = col.indexes || [];
                    col.indexes.push(`CREATE INDEX \`idx_${col.name || 'name'}_\` ON \`${col.name || 'name'}\` (\`\`)`);
                    drawIndexes();
                },
            }, 'Add index'));
    }
    drawIndexes();

    const authBox = h('div', {});
    // The mails of the auth flows: [option path, label]; otp's sits in col.otp.
    const TEMPLATES = [['verificationTemplate', 'Verification mail'], ['resetPasswordTemplate', 'Password reset mail'],
        ['confirmEmailChangeTemplate', 'Email change mail'], ['otp.emailTemplate', 'One-time password mail'],
        ['authAlert.emailTemplate', 'New-device alert mail']];
    // The auth options' controls by the dotted path the server's errors name.
    let authCtls = {};
    function drawAuth() {
        authCtls = {};
        authSections = [];
        if (col.type !== 'auth') { authBox.replaceChildren(); return; }
        col.passwordAuth = col.passwordAuth || { enabled: true, identityFields: ['email'] };
        col.otp = col.otp || { enabled: false, duration: 180, length: 8 };
        col.authToken = col.authToken || { duration: 432000 };
        col.mfa = col.mfa || { enabled: false, duration: 600, rule: '' };
        col.authAlert = col.authAlert || { enabled: true };
        const at = (path, c) => { authCtls[path] = c; return c.wrap; };
        const cb = (obj, key, label, path) => at(path, field(label, h('input', { type: 'checkbox', checked: !!obj[key], onchange: (e) => { obj[key] = e.target.checked; } })));
        const num = (obj, key, label, path) => at(path, field(label, h('input', { type: 'number', value: obj[key], oninput: (e) => { obj[key] = parseInt(e.target.value || '0', 10); } })));
        const tplBoxes = TEMPLATES.map(([path, label]) => {
            const [top, sub] = path.split('.');
            const owner = sub ? col[top] : col;
            const key = sub || top;
            // A new collection gets the server's defaults: nothing to show until saved.
            if (!owner[key]) return null;
            const t = owner[key];
            const subject = field(`${label}: subject`, h('input', { type: 'text', value: t.subject, oninput: (e) => { t.subject = e.target.value; } }));
            const body = field(`${label}: body (HTML)`, h('textarea', { rows: 6, class: 'code', spellcheck: false, value: t.body, oninput: (e) => { t.body = e.target.value; } }));
            authCtls[path] = authCtls[path + '.subject'] = subject;
            authCtls[path + '.body'] = body;
            return h('details', { class: 'chooser' }, h('summary', {}, label), subject.wrap, body.wrap);
        }).filter(Boolean);
        authBox.replaceChildren(h('h2', {}, 'Auth options'), h('div', { class: 'grid' },
            cb(col.passwordAuth, 'enabled', 'Password sign-in', 'passwordAuth.enabled'),
            at('passwordAuth.identityFields', field('Identity fields', h('input', {
                type: 'text', value: (col.passwordAuth.identityFields || []).join(', '),
                oninput: (e) => { col.passwordAuth.identityFields = e.target.value.split(',').map((s) => s.trim()).filter(Boolean); },
            }), 'Comma-separated; each needs a UNIQUE index.')),
            cb(col.otp, 'enabled', 'One-time password by mail', 'otp.enabled'),
            num(col.otp, 'duration', 'OTP duration (s)', 'otp.duration'), num(col.otp, 'length', 'OTP length', 'otp.length'),
            cb(col.mfa, 'enabled', 'MFA: a second, different sign-in method', 'mfa.enabled'),
            num(col.mfa, 'duration', 'MFA duration (s)', 'mfa.duration'),
            at('mfa.rule', field('MFA rule', h('input', {
                type: 'text', value: col.mfa.rule || '', spellcheck: false, class: 'code',
                oninput: (e) => { col.mfa.rule = e.target.value; },
            }), 'Records it matches need MFA; empty: every record.')),
            cb(col.authAlert, 'enabled', 'Mail on a sign-in from a new device', 'authAlert.enabled')),
        ...(authSections = [tokensSection(col), oauth2Section(col, providers)]).map((x) => x.el),
        tplBoxes.length ? h('h2', {}, 'Mail templates') : null,
        tplBoxes.length ? h('p', { class: 'help' }, 'Placeholders: {APP_NAME}, {APP_URL}, {TOKEN}, {OTP}, {OTP_ID}, {ALERT_INFO}, {RECORD:field}.') : null,
        ...tplBoxes);
    }
    drawAuth();
    // An error at an option object itself goes to its on/off control.
    const aliases = () => { for (const k of ['passwordAuth', 'otp', 'mfa', 'authAlert']) if (authCtls[k + '.enabled']) authCtls[k] = authCtls[k + '.enabled']; };

    const optsBox = h('div', {});
    function drawOpts() {
        sections = isView() ? [] : [searchSection(col), embeddingSection(col)];
        optsBox.replaceChildren(...sections.map((x) => x.el));
    }
    drawOpts();

    // Each leaf {code, message} of a validation answer's data, by dotted path.
    const flatErrors = (d, pre = '') => Object.entries(d || {}).flatMap(([k, v]) => {
        const p = pre ? `${pre}.${k}` : k;
        if (!v || typeof v !== 'object') return [];
        return typeof v.message === 'string' && typeof v.code === 'string' ? [[p, v.message]] : flatErrors(v, p);
    });

    function showErrors(err) {
        const d = err.data || {};
        nameCtl.setError(d.name?.message || '');
        typeCtl.setError(d.type?.message || '');
        queryCtl.setError(d.viewQuery?.message || '');
        rows.forEach((r, i) => r.setErrors(d.fields?.[i] || d.fields?.[String(i)]));
        for (const [k, c] of Object.entries(ruleErr)) c.setError(d[k]?.message || '');
        idxCtls.forEach((c, i) => c.setError(d.indexes?.[i]?.message || ''));
        // The option sections and the auth options: each error at the control
        // of its path, or of its nearest ancestor that has one; the rest above the buttons.
        aliases();
        const ctls = Object.assign({}, authCtls, ...[...authSections, ...sections].map((x) => x.ctls));
        for (const c of new Set(Object.values(ctls))) c.setError('');
        const byCtl = new Map();
        const rest = [];
        for (const [p, m] of flatErrors(d)) {
            if (/^(name|type|viewQuery|fields|indexes)(\.|$)/.test(p) || ruleErr[p]) continue;
            let k = p;
            while (k && !ctls[k]) k = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : '';
            if (!k) { rest.push(` ${p}: ${m}`); continue; }
            const sub = p.slice(k.length + 1);
            if (!byCtl.has(ctls[k])) byCtl.set(ctls[k], []);
            byCtl.get(ctls[k]).push(!sub ? m : /^\d+$/.test(sub) ? `Entry ${Number(sub) + 1}: ${m}` : `${sub}: ${m}`);
        }
        for (const [c, ms] of byCtl) {
            c.setError(ms.join(' '));
            const det = c.wrap.closest('details');
            if (det) det.open = true;
        }
        const fieldsMsg = d.fields?.message ? ` fields: ${d.fields.message}` : '';
        const idxMsg = d.indexes?.message ? ` indexes: ${d.indexes.message}` : '';
        setError(null, formError, err.message + fieldsMsg + idxMsg + rest.join('') + (byCtl.size ? ' See the fields marked.' : ''));
        const bad = document.querySelector('main [aria-invalid="true"]');
        if (bad) bad.focus();
    }

    // What only some types have: a view's query; the indexes and field editor of the others.
    const queryBox = h('div', {}, queryCtl.wrap);
    const idxSection = h('div', {}, h('h2', {}, 'Indexes'), idxBox);
    function drawKind() {
        queryBox.hidden = !isView();
        idxSection.hidden = isView();
        addField.hidden = isView();
    }
    drawKind();

    const form = h('form', {
        class: 'editor', noValidate: true,
        onsubmit: async (e) => {
            e.preventDefault();
            setError(null, formError, '');
            const body = structuredClone(col);
            delete body._scaffolds;
            optionsForSave(body);
            if (isView()) { delete body.fields; delete body.indexes; }
            if (isNew) { delete body.id; delete body.created; delete body.updated; }
            try {
                const saved = isNew ? await api('POST', '/api/collections', { body })
                    : await api('PATCH', '/api/collections/' + enc(name), { body });
                forgetCollections();
                toast(`Saved ${saved.name}.`);
                const target = `#/collections/${enc(saved.name)}/edit`;
                if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
                else location.hash = target;
            } catch (err) {
                showErrors(err);
            }
        },
    },
    h('div', { class: 'bar' }, h('h1', {}, isNew ? 'New collection' : `Edit ${name}`),
        isNew ? null : h('a', { class: 'button', href: '#/records/' + enc(name) }, 'Records')),
    h('div', { class: 'grid' }, nameCtl.wrap, typeCtl.wrap),
    queryBox,
    h('h2', {}, 'Fields'), fieldsBox, addField,
    h('h2', {}, 'API rules'),
    h('p', { class: 'help' }, 'Filter expressions, e.g. ', h('code', {}, "@request.auth.id != ''"),
        '. Empty: anyone. Superusers only: locked.'),
    rulesBox, authBox, optsBox,
    idxSection,
    formError,
    hide ? h('p', { class: 'err', role: 'note' }, HIDDEN_NOTE) : h('div', { class: 'actions sticky' },
        isNew || col.system ? null : h('button', {
            type: 'button', class: 'danger', onclick: async () => {
                if (!await confirmDialog(`Delete the collection "${name}" and all its records?`)) return;
                try {
                    await api('DELETE', '/api/collections/' + enc(name));
                    forgetCollections();
                    toast(`Deleted ${name}.`);
                    location.hash = '#/collections';
                } catch (err) { toast(err.message, 'error'); }
            },
        }, 'Delete collection'),
        h('button', { type: 'submit', class: 'primary' }, isNew ? 'Create collection' : 'Save changes')));
    setTimeout(() => { if (isNew) nameCtl.input.focus(); });
    return form;
}
