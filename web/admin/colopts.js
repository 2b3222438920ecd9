// colopts.js -- the collection editor's option sections past fields and
// rules: an auth collection's OAuth2 providers and mapped fields and its
// tokens (durations, invalidation); a base or auth collection's full-text
// search and embedding. Each section returns {el, ctls, refresh}: ctls maps
// the dotted path of an option (as the server names it in a validation
// error, "oauth2.providers.0.clientId") to its control, so collections.js
// shows each error at its field; refresh() redraws the field choices after
// the collection's fields change. Client secrets are write-only: the API
// never returns them, so a saved provider's secret input starts empty and
// empty keeps it (as PocketBase's dashboard does).
import { h, field, modal, setError } from './dom.js';
import { api } from './api.js';

// The providers come from the server (GET /api/collections/meta/oauth2-providers:
// [{name, displayName}]); the extra settings each reads (src/core/schema/oauth2.c):
// the OpenID Connect ones (no endpoints of their own) and those with id_tokens.
const extrasOf = (name) => (/^oidc\d*$/.test(name) ? ['discoveryURL', 'jwksURL', 'issuers', 'audiences']
    : ['google', 'apple'].includes(name) ? ['jwksURL', 'issuers', 'audiences'] : []);
const EXTRA_LABELS = { discoveryURL: 'Discovery URL', jwksURL: 'JWKS URL', issuers: 'Issuers', audiences: 'Audiences' };
const TOKENS = [['authToken', 'Auth token'], ['verificationToken', 'Verification token'],
    ['passwordResetToken', 'Password reset token'], ['emailChangeToken', 'Email change token'], ['fileToken', 'File token']];
const SEARCHABLE = ['text', 'editor', 'email', 'url', 'select'];
const EMBEDDABLE = ['text', 'editor', 'email', 'url'];

const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const randomSecret = () => Array.from(crypto.getRandomValues(new Uint8Array(25)), (b) => b.toString(16).padStart(2, '0')).join('');

// A <select> of the collection's fields of the given types (all when none),
// '' first with emptyLabel; keeps a value no field has any more, marked.
function fieldSelect(col, types, get, set, emptyLabel) {
    const sel = h('select', { onchange: () => set(sel.value) });
    sel.refresh = () => {
        const names = col.fields.filter((f) => f.name && (!types || types.includes(f.type))).map((f) => f.name);
        const v = get() || '';
        if (v && !names.includes(v)) names.push(v);
        sel.replaceChildren(h('option', { value: '' }, emptyLabel),
            ...names.map((n) => h('option', { value: n, selected: n === v }, n)));
    };
    sel.refresh();
    return sel;
}

const text = (obj, key, extra = {}) => h('input', { type: 'text', value: obj[key] ?? '', oninput: (e) => { obj[key] = e.target.value; }, ...extra });

// Apple's client secret is a JWT signed with the developer's key: the
// server makes one (POST /api/settings/apple/generate-client-secret); the key is not kept.
function appleSecret(clientId) {
    return modal('Generate the Apple client secret', (close) => {
        const v = { clientId, teamId: '', keyId: '', privateKey: '', duration: 15777000 };
        const ctls = {
            clientId: field('Client id (Services ID)', text(v, 'clientId')),
            teamId: field('Team id', text(v, 'teamId')),
            keyId: field('Key id', text(v, 'keyId')),
            privateKey: field('Private key (.p8 file contents)', h('textarea', { rows: 5, class: 'code', spellcheck: false, oninput: (e) => { v.privateKey = e.target.value; } })),
            duration: field('Valid for (seconds, at most 15777000)', h('input', { type: 'number', value: v.duration, oninput: (e) => { v.duration = Number(e.target.value); } })),
        };
        const err = h('p', { class: 'err', role: 'alert', hidden: true });
        return h('form', {
            noValidate: true,
            onsubmit: async (e) => {
                e.preventDefault();
                for (const c of Object.values(ctls)) c.setError('');
                setError(null, err, '');
                try {
                    close((await api('POST', '/api/settings/apple/generate-client-secret', { body: v })).secret);
                } catch (x) {
                    for (const [k, c] of Object.entries(ctls)) if (x.data?.[k]) c.setError(x.data[k].message);
                    setError(null, err, x.message);
                }
            },
        }, Object.values(ctls).map((c) => c.wrap), err,
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
            h('button', { type: 'submit', class: 'primary' }, 'Generate')));
    });
}

// One provider of oauth2.providers, at index i.
function providerBox(known, p, i, ctls, remove) {
    const label = known.find((k) => k.name === p.name)?.displayName || p.name;
    const extraKeys = extrasOf(p.name);
    const at = `oauth2.providers.${i}`;
    const ctl = (key, input, lbl, help) => {
        const c = field(`${label}: ${lbl}`, input, help);
        ctls[`${at}.${key}`] = c;
        return c.wrap;
    };
    const isOidc = p.name.startsWith('oidc');
    const saved = !p._new;
    const secret = h('input', {
        type: 'password', autocomplete: 'new-password', value: p.clientSecret || '',
        oninput: (e) => { if (e.target.value) p.clientSecret = e.target.value; else delete p.clientSecret; },
    });
    p.extra = p.extra || null;
    const extraCtl = (key) => {
        const isList = key === 'issuers' || key === 'audiences';
        const cur = p.extra?.[key];
        const i2 = h('input', {
            type: isList ? 'text' : 'url', value: isList ? (cur || []).join(', ') : cur || '',
            oninput: () => {
                const v = isList ? list(i2.value) : i2.value.trim();
                const x = { ...(p.extra || {}) };
                if (isList ? v.length : v) x[key] = v; else delete x[key];
                p.extra = Object.keys(x).length ? x : null;
            },
        });
        return ctl(`extra.${key}`, i2, EXTRA_LABELS[key], isList ? 'Comma-separated.' : null);
    };
    const pkce = h('select', { onchange: () => { p.pkce = pkce.value === '' ? null : pkce.value === 'on'; } },
        [['', 'Provider default'], ['on', 'On'], ['off', 'Off']].map(([v, l]) => h('option', {
            value: v, selected: v === (p.pkce === true ? 'on' : p.pkce === false ? 'off' : ''),
        }, l)));
    const endpointHelp = isOidc ? 'Required unless a discovery URL is given.' : 'Empty: the provider\'s own.';
    const box = h('fieldset', { class: 'frow' }, h('legend', {}, label, ' ', h('span', { class: 'tag' }, p.name)),
        h('div', { class: 'grid' },
            ctl('clientId', text(p, 'clientId', { autocomplete: 'off' }), 'Client id'),
            ctl('clientSecret', secret, 'Client secret', saved ? 'Saved and never shown: leave empty to keep it.' : null),
            ctl('displayName', text(p, 'displayName'), 'Display name', 'Empty: ' + label + '.'),
            ctl('pkce', pkce, 'PKCE'),
            ctl('authURL', text(p, 'authURL', { type: 'url' }), 'Auth URL', endpointHelp),
            ctl('tokenURL', text(p, 'tokenURL', { type: 'url' }), 'Token URL', endpointHelp),
            ctl('userInfoURL', text(p, 'userInfoURL', { type: 'url' }), 'User info URL',
                extraKeys.length ? 'Empty: the user is the id_token\'s claims.' : endpointHelp),
            extraKeys.map(extraCtl)),
        h('div', { class: 'actions' },
            p.name === 'apple' ? h('button', {
                type: 'button', onclick: async () => {
                    const s = await appleSecret(p.clientId || '');
                    if (s) { secret.value = s; p.clientSecret = s; }
                },
            }, 'Generate Apple client secret') : null,
            h('button', { type: 'button', class: 'danger', onclick: remove }, `Remove provider ${label}`)));
    ctls[at] = ctls[`${at}.name`] = ctls[`${at}.clientId`];
    return box;
}

// oauth2: enabled, providers, mappedFields.
export function oauth2Section(col, known, onChange = () => {}) {
    col.oauth2 = col.oauth2 || { enabled: false, providers: [], mappedFields: {} };
    const o = col.oauth2;
    o.providers = o.providers || [];
    o.mappedFields = o.mappedFields || {};
    let ctls = {};
    const selects = [];
    const box = h('div', {});
    const providersBox = h('div', {});
    const enabled = field('OAuth2 sign-in', h('input', { type: 'checkbox', checked: !!o.enabled, onchange: (e) => { o.enabled = e.target.checked; } }));
    const mapped = [['id', 'Provider user id into'], ['name', 'Name into'], ['username', 'Username into'], ['avatarURL', 'Avatar URL into']]
        .map(([k, l]) => {
            const sel = fieldSelect(col, k === 'avatarURL' ? ['text', 'url', 'file'] : null, () => o.mappedFields[k], (v) => { o.mappedFields[k] = v; }, '— none —');
            selects.push(sel);
            return [k, field(l, sel)];
        });
    const pick = h('select', {});
    const drawPick = () => pick.replaceChildren(...known.filter((k) => !o.providers.some((p) => p.name === k.name))
        .map((k) => h('option', { value: k.name }, k.displayName)));
    function draw() {
        ctls = { 'oauth2.enabled': enabled };
        for (const [k, c] of mapped) ctls['oauth2.mappedFields.' + k] = c;
        providersBox.replaceChildren(...o.providers.map((p, i) => providerBox(known, p, i, ctls,
            () => { o.providers.splice(i, 1); draw(); onChange(); })));
        ctls.oauth2 = ctls['oauth2.providers'] = enabled;
        drawPick();
        add.hidden = !pick.options.length;
    }
    const add = h('div', { class: 'inline' }, field('OAuth2 provider', pick).wrap, h('button', {
        type: 'button', onclick: () => {
            if (!pick.value) return;
            o.providers.push({ name: pick.value, clientId: '', authURL: '', tokenURL: '', userInfoURL: '', displayName: '', pkce: null, extra: null, _new: true });
            draw();
            providersBox.lastElementChild.querySelector('input').focus();
        },
    }, 'Add provider'));
    draw();
    box.append(h('h2', {}, 'OAuth2'), h('div', { class: 'grid' }, enabled.wrap),
        h('p', { class: 'help' }, 'Each provider redirects to <app URL>/api/oauth2-redirect.'),
        providersBox, add, h('h3', {}, 'Mapped fields'),
        h('p', { class: 'help' }, 'Fields of the new account filled from the provider\'s user.'),
        h('div', { class: 'grid' }, mapped.map(([, c]) => c.wrap)));
    return { el: box, get ctls() { return ctls; }, refresh: () => selects.forEach((s) => s.refresh()) };
}

// Each kind of token: its duration, and a fresh secret on save (which
// invalidates every token of that kind issued before).
export function tokensSection(col) {
    const ctls = {};
    const rows = TOKENS.map(([k, l]) => {
        col[k] = col[k] || {};
        const o = col[k];
        const dur = field(`${l} duration (s)`, h('input', { type: 'number', min: 10, value: o.duration ?? '', oninput: (e) => { o.duration = e.target.value === '' ? null : Number(e.target.value); } }));
        const inv = field(`Invalidate issued ${l.toLowerCase()}s on save`, h('input', {
            type: 'checkbox', onchange: (e) => { if (e.target.checked) o.secret = randomSecret(); else delete o.secret; },
        }));
        ctls[k + '.duration'] = dur;
        ctls[k + '.secret'] = ctls[k] = inv;
        return [dur.wrap, inv.wrap];
    });
    return { el: h('div', {}, h('h2', {}, 'Tokens'), h('div', { class: 'grid' }, rows)), ctls, refresh() {} };
}

// search: {fields: [{name, weight}], language}; none: null (removes it).
export function searchSection(col) {
    const s = col.search ? structuredClone(col.search) : { fields: [], language: 'simple' };
    col.search = s;
    let ctls = {};
    let selects = [];
    const rowsBox = h('div', {});
    const lang = field('Search language', h('select', { onchange: (e) => { s.language = e.target.value; } },
        [['simple', 'simple (no stemming)'], ['english', 'english (stemmed)']].map(([v, l]) => h('option', { value: v, selected: s.language === v }, l))));
    function draw() {
        selects = [];
        ctls = { search: lang, 'search.language': lang, 'search.fields': lang };
        rowsBox.replaceChildren(...s.fields.map((f, i) => {
            const sel = fieldSelect(col, SEARCHABLE, () => f.name, (v) => { f.name = v; }, '— choose —');
            selects.push(sel);
            const name = field(`Searched field ${i + 1}`, sel);
            const weight = field(`Weight of field ${i + 1}`, h('input', {
                type: 'number', step: 'any', value: f.weight ?? 1, oninput: (e) => { f.weight = e.target.value === '' ? null : Number(e.target.value); },
            }));
            ctls[`search.fields.${i}`] = ctls[`search.fields.${i}.name`] = name;
            ctls[`search.fields.${i}.weight`] = weight;
            return h('div', { class: 'inline wrap' }, name.wrap, weight.wrap, h('button', {
                type: 'button', class: 'danger', onclick: () => { s.fields.splice(i, 1); draw(); },
            }, `Remove searched field ${i + 1}`));
        }));
    }
    draw();
    const el = h('div', {}, h('h2', {}, 'Full-text search'),
        h('p', { class: 'help' }, 'Text, editor, email, url and select fields, ranked by weight (at most 4 distinct weights); none: no search index.'),
        rowsBox, h('div', { class: 'inline wrap' }, lang.wrap, h('button', {
            type: 'button', onclick: () => { s.fields.push({ name: '', weight: 1 }); draw(); rowsBox.lastElementChild.querySelector('select').focus(); },
        }, 'Add searched field')));
    return { el, get ctls() { return ctls; }, refresh: () => selects.forEach((x) => x.refresh()) };
}

// embedding: {field (a vector field), source (fields), provider}; none: null.
export function embeddingSection(col) {
    const e = col.embedding ? structuredClone(col.embedding) : { field: '', source: [], provider: 'openai' };
    col.embedding = e;
    const vec = fieldSelect(col, ['vector'], () => e.field, (v) => { e.field = v; }, '— none —');
    const ctls = {
        embedding: field('Vector field', vec),
        'embedding.source': field('Source fields', h('input', {
            type: 'text', value: (e.source || []).join(', '), oninput: (x) => { e.source = list(x.target.value); },
        }), `Comma-separated; ${EMBEDDABLE.join(', ')} fields, 1 to 8.`),
        'embedding.provider': field('Embedding provider', h('select', { onchange: (x) => { e.provider = x.target.value; } },
            h('option', { value: 'openai', selected: true }, 'openai (an OpenAI-compatible /v1/embeddings endpoint)'))),
    };
    ctls['embedding.field'] = ctls.embedding;
    const el = h('div', {}, h('h2', {}, 'Embedding'),
        h('p', { class: 'help' }, 'Each record\'s source fields are embedded into the vector field on save (Settings: embeddings). No vector field: off.'),
        h('div', { class: 'grid' }, Object.values(ctls).filter((c, i, a) => a.indexOf(c) === i).map((c) => c.wrap)));
    return { el, ctls, refresh: () => vec.refresh() };
}

// The body's search and embedding: null when empty (which removes them).
export function optionsForSave(body) {
    if (!body.search?.fields?.length) body.search = null;
    if (!body.embedding?.field) body.embedding = null;
    for (const p of body.oauth2?.providers || []) delete p._new;
}
