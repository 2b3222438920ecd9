// docs.js -- the docs page (/api/docs), built in the browser from
// GET /api/docs/openapi.json as the reader's token sees it: the endpoints
// grouped by tag (a collection, or a fixed group), each with its parameters,
// request body and answers, a "try it" form that calls the API with that
// token, and JS and Dart SDK snippets. Data only ever becomes text nodes and
// properties (h() below): nothing goes through innerHTML.
import { example, snippets } from './snippets.js';

const TOKEN_KEY = 'tarmac_docs_token';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
let doc = null;
let auth = { token: '', from: '' };
let uid = 0;

function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else if (k === 'class') el.className = v;
        else if (k === 'for') el.htmlFor = v;
        else if (k.includes('-') || k === 'role') el.setAttribute(k, v === true ? '' : String(v));
        else el[k] = v;
    }
    for (const c of children.flat(Infinity)) {
        if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    }
    return el;
}

const $ = (id) => document.getElementById(id);
const say = (msg) => { $('live').textContent = msg; };
const slug = (s) => String(s).toLowerCase().replace(/[^a-z0-9_]+/g, '-');

// The token: this page's own (sessionStorage), else one a PocketBase SDK app
// or the dashboard on this origin keeps in localStorage ({token, record}).
function findToken() {
    const own = sessionStorage.getItem(TOKEN_KEY);
    if (own) return { token: own, from: 'this page' };
    for (const [key, from] of [['pocketbase_auth', 'the PocketBase SDK'], ['tarmac_admin', 'the dashboard']]) {
        try {
            const v = JSON.parse(localStorage.getItem(key));
            if (v && typeof v.token === 'string' && v.token) return { token: v.token, from, who: (v.record || v.model || {}).email };
        } catch { /* not JSON: not a token */ }
    }
    return { token: '', from: '' };
}

function headers(extra) {
    return auth.token ? { Authorization: auth.token, ...extra } : { ...extra };
}

function showToken() {
    $('token').value = auth.token;
    $('token-note').textContent = auth.token
        ? `Requests carry the token from ${auth.from}${auth.who ? ` (${auth.who})` : ''}; the endpoints below are those it may see.`
        : 'No token: you see and call the API as a guest.';
}

// ---- the document -------------------------------------------------------------

function resolve(s) {
    for (let i = 0; s && s.$ref && i < 20; i++) {
        s = s.$ref.replace(/^#\//, '').split('/').reduce((o, k) => (o ? o[k] : undefined), doc);
    }
    return s || {};
}

function typeText(s) {
    const named = s && s.$ref ? s.$ref.split('/').pop() : '';
    const r = resolve(s);
    if (named) return named;
    if (r.anyOf) return r.anyOf.map(typeText).join(' | ');
    if (r.const !== undefined) return JSON.stringify(r.const);
    if (r.enum) return r.enum.map((v) => JSON.stringify(v)).join(' | ');
    let t = Array.isArray(r.type) ? r.type.join(' | ') : r.type || 'any';
    if (t === 'array') t = `${typeText(r.items || {})}[]`;
    if (r.format) t += ` (${r.format})`;
    return t;
}

// A schema as nested lists of its properties, two levels deep.
function schemaView(s, depth = 0) {
    const name = s && s.$ref ? s.$ref.split('/').pop() : '';
    const r = resolve(s);
    const wrap = h('div', { class: 'schema' });
    if (name) wrap.append(h('p', {}, h('code', {}, name), r.description ? ` — ${r.description}` : ''));
    else if (r.description && depth === 0) wrap.append(h('p', {}, r.description));
    if (r.type === 'array' && r.items) {
        wrap.append(h('p', {}, `An array of ${typeText(r.items)}`));
        if (depth < 2 && resolve(r.items).properties) wrap.append(schemaView(r.items, depth + 1));
        return wrap;
    }
    if (!r.properties) {
        if (!name && !r.description) wrap.append(h('p', {}, typeText(s)));
        return wrap;
    }
    const required = new Set(r.required || []);
    const ul = h('ul', { class: 'props' });
    for (const [k, p] of Object.entries(r.properties)) {
        const pr = resolve(p);
        const li = h('li', {}, h('code', {}, k), ' ', h('span', { class: 'type' }, typeText(p)),
            required.has(k) ? h('span', { class: 'req' }, ' required') : '',
            pr.readOnly ? ' read-only' : '', pr.writeOnly ? ' write-only' : '',
            pr.description && !p.$ref ? ` — ${pr.description}` : '');
        if (depth < 1 && (pr.properties || (pr.items && resolve(pr.items).properties))) li.append(schemaView(p, depth + 1));
        ul.append(li);
    }
    wrap.append(ul);
    return wrap;
}

function params(path, method) {
    const all = new Map();
    for (const p of [...(doc.paths[path].parameters || []), ...(doc.paths[path][method].parameters || [])]) {
        const r = resolve(p);
        all.set(`${r.in}:${r.name}`, r);
    }
    return [...all.values()];
}

function needsToken(op) {
    const sec = op.security || doc.security || [];
    return sec.length > 0 && !sec.some((s) => !Object.keys(s).length);
}

// ---- one operation --------------------------------------------------------------

function collectionOf(path) {
    const m = /^\/api\/collections\/([^/]+)\/(records|auth|request|confirm|impersonate)/.exec(path);
    if (m) return m[1] === '{collection}' ? 'COLLECTION' : m[1];
    const first = (doc.tags || []).find((t) => /collection:|base collection/.test(t.description || ''));
    return first ? first.name : 'posts';
}

function opBody(path, method, op) {
    const body = [];
    if (op.description) body.push(h('p', {}, op.description));
    if (needsToken(op)) body.push(h('p', { class: 'note' }, 'Needs a token (Authorization header).'));
    const ps = params(path, method);
    if (ps.length) {
        body.push(h('h4', {}, 'Parameters'));
        body.push(h('div', { class: 'scroll', tabIndex: 0, role: 'region', 'aria-label': 'Parameters' }, h('table', {},
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'In'),
                h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Description'))),
            h('tbody', {}, ps.map((p) => h('tr', {}, h('td', {}, h('code', {}, p.name), p.required ? h('span', { class: 'req' }, ' required') : ''),
                h('td', {}, p.in), h('td', {}, typeText(p.schema || {})), h('td', {}, p.description || '')))))));
    }
    const rb = op.requestBody && resolve(op.requestBody);
    const json = rb && rb.content && rb.content['application/json'];
    if (rb && rb.content) {
        body.push(h('h4', {}, 'Request body'), h('p', {}, Object.keys(rb.content).map((t) => h('code', {}, t)).reduce((a, c) => [...a, a.length ? ' or ' : '', c], [])));
        const any = json || Object.values(rb.content)[0];
        if (any && any.schema) body.push(schemaView(any.schema));
    }
    body.push(h('h4', {}, 'Answers'));
    const dl = h('dl', { class: 'answers' });
    for (const [status, resp] of Object.entries(op.responses || {})) {
        const r = resolve(resp);
        const content = r.content ? Object.entries(r.content)[0] : null;
        dl.append(h('dt', {}, h('span', { class: `status s${status[0]}` }, status), ' ', r.description || ''),
            h('dd', {}, content ? [h('code', {}, content[0]), content[1].schema ? schemaView(content[1].schema) : ''] : 'no body'));
    }
    body.push(dl);
    const sample = json && json.schema ? example(json.schema, resolve) : undefined;
    body.push(tryIt(path, method, op, ps, sample));
    const snip = snippets(op.operationId || '', collectionOf(path), sample);
    if (snip) body.push(h('h4', {}, 'SDK'), code('JavaScript', snip.js), code('Dart', snip.dart));
    return body;
}

function code(lang, text) {
    const id = `c${++uid}`;
    return h('div', { class: 'snippet' },
        h('div', { class: 'snippet-head' }, h('span', { id: id + 'l' }, lang),
            h('button', { type: 'button', 'aria-describedby': id + 'l', onclick: () => copy(text, lang) }, `Copy ${lang}`)),
        h('pre', { id, tabIndex: 0, 'aria-labelledby': id + 'l' }, h('code', {}, text)));
}

async function copy(text, lang) {
    try {
        await navigator.clipboard.writeText(text);
        say(`${lang} snippet copied.`);
    } catch {
        say('Copying was refused by the browser: select the snippet and copy it.');
    }
}

// ---- try it ---------------------------------------------------------------------

function tryIt(path, method, op, ps, sample) {
    const ok = op.responses && Object.values(op.responses).map(resolve);
    if (ok.some((r) => r.content && r.content['text/event-stream']) || op.responses['101']) {
        return h('p', { class: 'note' }, 'A stream: try it with an SDK (see below).');
    }
    const fields = [];
    const form = h('form', { class: 'try', 'aria-label': `Try ${method.toUpperCase()} ${path}` });
    const grid = h('div', { class: 'grid' });
    form.append(h('h4', {}, 'Try it'), grid);
    for (const p of ps.filter((x) => x.in === 'path' || x.in === 'query')) {
        const id = `i${++uid}`;
        const input = h('input', { id, name: p.name, type: 'text', required: p.in === 'path', autocomplete: 'off', spellcheck: false });
        fields.push([p, input]);
        grid.append(h('div', { class: 'field' }, h('label', { for: id }, `${p.name} (${p.in})`), input));
    }
    let bodyInput = null;
    if (sample !== undefined) {
        const id = `i${++uid}`;
        bodyInput = h('textarea', { id, name: 'body', rows: Math.min(12, JSON.stringify(sample, null, 2).split('\n').length + 1), spellcheck: false });
        bodyInput.value = JSON.stringify(sample, null, 2);
        form.append(h('div', { class: 'field' }, h('label', { for: id }, 'Body (JSON)'), bodyInput));
    }
    const out = h('div', { class: 'result', role: 'status', 'aria-live': 'polite' });
    form.append(h('button', { type: 'submit' }, `Send ${method.toUpperCase()}`), out);
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        let url = path;
        const query = new URLSearchParams();
        for (const [p, input] of fields) {
            if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(input.value));
            else if (input.value !== '') query.set(p.name, input.value);
        }
        if (query.toString()) url += '?' + query;
        const init = { method: method.toUpperCase(), headers: headers() };
        if (bodyInput) {
            init.body = bodyInput.value;
            init.headers['Content-Type'] = 'application/json';
        }
        out.replaceChildren(h('p', {}, 'Sending…'));
        const t0 = performance.now();
        try {
            const res = await fetch(url, init);
            const type = res.headers.get('content-type') || '';
            let text;
            if (/json|text/.test(type)) {
                text = await res.text();
                if (/json/.test(type)) { try { text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* as sent */ } }
            } else {
                text = `${(await res.arrayBuffer()).byteLength} bytes of ${type || 'data'}`;
            }
            out.replaceChildren(h('p', {}, h('span', { class: `status s${String(res.status)[0]}` }, `HTTP ${res.status}`),
                ` ${method.toUpperCase()} ${url} · ${Math.round(performance.now() - t0)} ms`),
            text ? h('pre', { class: 'answer', tabIndex: 0, 'aria-label': 'Answer' }, h('code', {}, text)) : '');
        } catch (err) {
            out.replaceChildren(h('p', { class: 'err' }, `The request failed: ${err.message}`));
        }
    });
    return form;
}

// ---- the page -------------------------------------------------------------------

function render() {
    document.title = `${doc.info.title} API docs`;
    $('title').textContent = `${doc.info.title} API`;
    $('intro').replaceChildren(doc.info.description || '', ' Snippets assume ',
        h('code', {}, `const pb = new PocketBase('${location.origin}')`), ' (JavaScript) or ',
        h('code', {}, `final pb = PocketBase('${location.origin}')`), ' (Dart).');
    const groups = new Map((doc.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
    for (const [path, item] of Object.entries(doc.paths)) {
        for (const m of METHODS) {
            const op = item[m];
            if (!op) continue;
            const tag = (op.tags && op.tags[0]) || 'other';
            if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, ops: [] });
            groups.get(tag).ops.push({ path, method: m, op });
        }
    }
    const toc = h('ul', {});
    const main = $('main');
    main.replaceChildren();
    for (const { tag, ops } of groups.values()) {
        if (!ops.length) continue;
        const id = `tag-${slug(tag.name)}`;
        toc.append(h('li', {}, h('a', { href: `#${id}` }, tag.name, h('span', { class: 'count' }, ` ${ops.length}`))));
        const section = h('section', { id, 'aria-labelledby': id + '-h' },
            h('h2', { id: id + '-h', tabIndex: -1 }, tag.name), tag.description ? h('p', { class: 'desc' }, tag.description) : '');
        for (const { path, method, op } of ops) {
            const details = h('details', { class: 'op', id: `op-${slug(op.operationId || path + method)}` },
                h('summary', {}, h('span', { class: `method m-${method}` }, method.toUpperCase()), ' ',
                    h('code', { class: 'path' }, path), ' ', h('span', { class: 'summary' }, op.summary || '')));
            details.addEventListener('toggle', () => {
                if (details.open && details.childElementCount === 1) details.append(h('div', { class: 'op-body' }, opBody(path, method, op)));
            }, { passive: true });
            section.append(details);
        }
        main.append(section);
    }
    $('toc').replaceChildren(h('h2', { class: 'sr-only' }, 'Groups'), toc);
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.tagName === 'DETAILS') target.open = true;
    document.documentElement.dataset.ready = '1';
}

async function load() {
    let res = await fetch('/api/docs/openapi.json', { headers: headers() });
    if (res.status === 401 && auth.token) {
        $('token-note').textContent = 'The server refused this token: showing what a guest sees.';
        res = await fetch('/api/docs/openapi.json');
    }
    if (!res.ok) throw new Error(`GET /api/docs/openapi.json answered ${res.status}`);
    doc = await res.json();
    render();
}

// Typed models with the token (a plain link would fetch them as a guest).
async function download(e) {
    if (!auth.token) return;
    e.preventDefault();
    const a = e.currentTarget;
    try {
        const res = await fetch(a.href, { headers: headers() });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const url = URL.createObjectURL(await res.blob());
        const tmp = h('a', { href: url, download: a.getAttribute('download') });
        document.body.append(tmp);
        tmp.click();
        tmp.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        say(`Downloading ${a.getAttribute('download')}.`);
    } catch (err) {
        say(`The download failed: ${err.message}`);
    }
}

function start() {
    auth = findToken();
    showToken();
    $('auth').addEventListener('submit', (e) => {
        e.preventDefault();
        const t = $('token').value.trim();
        if (t) sessionStorage.setItem(TOKEN_KEY, t);
        else sessionStorage.removeItem(TOKEN_KEY);
        auth = t ? { token: t, from: 'this page' } : findToken();
        showToken();
        load().catch(fail);
    });
    $('token-clear').addEventListener('click', () => {
        sessionStorage.removeItem(TOKEN_KEY);
        auth = { token: '', from: '' };
        showToken();
        load().catch(fail);
    });
    for (const id of ['types-ts', 'types-dart']) $(id).addEventListener('click', download);
    load().catch(fail);
}

function fail(err) {
    $('main').replaceChildren(h('p', { class: 'err', role: 'alert' }, `Could not load the API document: ${err.message}`));
}

start();
