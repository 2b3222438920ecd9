// records.js -- a collection's records: a table with paging, sort by column,
// the filter box (the server's error shown under it), expand of relations,
// column choice, bulk delete, live updates over realtime; and the record
// form (create, edit, delete; auth actions on auth collections; locked until
// Unlock when the settings' meta.hideControls is on).
import { h, field, setError, toast, modal, confirmDialog, fmtDate } from './dom.js';
import { api, enc, collections, fileUrl, realtime, auth, uiMeta } from './api.js';
import { inputFor, presentable } from './inputs.js';

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;
const SU_ID = 'pbc_3142635823';
const USERS_ID = '_pb_users_auth_'; // the users notifications reach

function cell(f, rec, all) {
    const v = rec[f.name];
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) return h('span', { class: 'muted' }, '—');
    switch (f.type) {
    case 'bool': return v ? 'true' : 'false';
    case 'file': return h('span', { class: 'thumbs' }, [].concat(v).slice(0, 3).map((n) => (IMAGE.test(n)
        ? h('img', { src: fileUrl(rec, n, '100x100'), alt: n, width: 32, height: 32, loading: 'lazy' }) : h('span', { class: 'tag' }, n))));
    case 'relation': {
        const exp = rec.expand?.[f.name];
        const target = all.find((c) => c.id === f.collectionId);
        if (exp) return [].concat(exp).map((r) => presentable(r, target)).join(', ');
        return [].concat(v).join(', ');
    }
    case 'json': { const s = JSON.stringify(v); return s.length > 60 ? s.slice(0, 60) + '…' : s; }
    case 'geoPoint': return `${v.lon}, ${v.lat}`;
    case 'vector': return v ? `[${v.length} numbers]` : '';
    case 'date': case 'autodate': return fmtDate(v);
    case 'select': return [].concat(v).join(', ');
    }
    const s = String(v);
    return s.length > 80 ? s.slice(0, 80) + '…' : s;
}

export async function recordsScreen(name) {
    const [all, meta] = await Promise.all([collections(), uiMeta()]);
    const hide = !!meta.hideControls; // settings' meta.hideControls: no collection edit, records locked until unlocked
    const col = all.find((c) => c.name === name) || await api('GET', '/api/collections/' + enc(name));
    const isAuth = col.type === 'auth';
    const isView = col.type === 'view'; // read-only: its records are its query's rows
    const colsKey = 'tarmac_cols_' + col.name;
    const hasCreated = col.fields.some((f) => f.name === 'created');
    const state = { page: 1, perPage: 30, sort: hasCreated ? '-created' : '', filter: '', expand: new Set(), selected: new Set(), items: [] };
    const shown = col.fields.filter((f) => f.type !== 'password' && !(f.hidden && f.name === 'tokenKey'));
    let visible;
    try { visible = new Set(JSON.parse(localStorage.getItem(colsKey))); } catch { visible = null; }
    if (!visible || !visible.size) visible = new Set(shown.filter((f) => !['json', 'editor'].includes(f.type) && !f.hidden).slice(0, 9).map((f) => f.name));
    const rels = col.fields.filter((f) => f.type === 'relation');

    const table = h('table', { class: 'records' });
    const status = h('p', { class: 'muted', role: 'status' });
    const pager = h('div', { class: 'pager' });
    const bulk = h('button', { type: 'button', class: 'danger', hidden: true, onclick: bulkDelete });

    const filterInput = h('input', { type: 'search', name: 'filter', class: 'code', placeholder: "e.g. title ~ 'abc' && created > '2025-01-01'", spellcheck: false });
    const filterCtl = field('Filter', filterInput);
    const filterForm = h('form', {
        class: 'filter', role: 'search', onsubmit: (e) => {
            e.preventDefault();
            state.filter = filterInput.value.trim();
            state.page = 1;
            load();
        },
    }, filterCtl.wrap, h('button', { type: 'submit' }, 'Apply'));

    const chooser = h('details', { class: 'chooser' }, h('summary', {}, 'Columns'),
        h('fieldset', {}, h('legend', {}, 'Visible columns'), shown.map((f) => field(f.name, h('input', {
            type: 'checkbox', checked: visible.has(f.name), onchange: (e) => {
                if (e.target.checked) visible.add(f.name); else visible.delete(f.name);
                localStorage.setItem(colsKey, JSON.stringify([...visible]));
                draw();
            },
        })).wrap)),
        rels.length ? h('fieldset', {}, h('legend', {}, 'Expand relations'), rels.map((f) => field(f.name, h('input', {
            type: 'checkbox', onchange: (e) => {
                if (e.target.checked) state.expand.add(f.name); else state.expand.delete(f.name);
                load();
            },
        })).wrap)) : null);

    function sortBy(fname) {
        state.sort = state.sort === fname ? '-' + fname : fname;
        state.page = 1;
        load();
    }

    function draw() {
        const cols = shown.filter((f) => visible.has(f.name));
        const allBox = h('input', {
            type: 'checkbox', 'aria-label': 'Select all on this page',
            checked: state.items.length > 0 && state.items.every((r) => state.selected.has(r.id)),
            onchange: (e) => { for (const r of state.items) { if (e.target.checked) state.selected.add(r.id); else state.selected.delete(r.id); } draw(); },
        });
        const head = h('tr', {}, h('th', { scope: 'col', class: 'sel' }, allBox), cols.map((f) => {
            const dir = state.sort === f.name ? 'ascending' : state.sort === '-' + f.name ? 'descending' : null;
            return h('th', { scope: 'col', 'aria-sort': dir || 'none' },
                h('button', { type: 'button', class: 'sort', onclick: () => sortBy(f.name) }, f.name,
                    h('span', { 'aria-hidden': 'true' }, dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '')));
        }), h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Actions')));
        const body = state.items.map((r) => h('tr', { 'data-id': r.id },
            h('td', { class: 'sel' }, h('input', {
                type: 'checkbox', 'aria-label': 'Select ' + r.id, checked: state.selected.has(r.id),
                onchange: (e) => { if (e.target.checked) state.selected.add(r.id); else state.selected.delete(r.id); drawBulk(); },
            })),
            cols.map((f) => h('td', { 'data-label': f.name }, cell(f, r, all))),
            h('td', {}, isView ? null : h('button', { type: 'button', class: 'small', 'aria-label': 'Edit ' + r.id, onclick: () => openForm(r.id) }, 'Edit'))));
        table.replaceChildren(h('thead', {}, head), h('tbody', {}, body.length ? body
            : h('tr', {}, h('td', { colSpan: cols.length + 2, class: 'muted' }, 'No records.'))));
        drawBulk();
    }
    function drawBulk() {
        bulk.hidden = isView || !state.selected.size;
        bulk.textContent = `Delete selected (${state.selected.size})`;
    }

    let loadSeq = 0;
    async function load() {
        const seq = ++loadSeq;
        try {
            const r = await api('GET', `/api/collections/${enc(col.name)}/records`, {
                query: { page: state.page, perPage: state.perPage, sort: state.sort, filter: state.filter, expand: [...state.expand].join(',') },
            });
            if (seq !== loadSeq) return;
            filterCtl.setError('');
            state.items = r.items;
            state.totalPages = r.totalPages;
            status.textContent = `${r.totalItems} record${r.totalItems === 1 ? '' : 's'}`;
            pager.replaceChildren(
                h('button', { type: 'button', disabled: state.page <= 1, onclick: () => { state.page--; load(); } }, 'Previous'),
                h('span', {}, `Page ${r.page} of ${Math.max(1, r.totalPages)}`),
                h('button', { type: 'button', disabled: state.page >= r.totalPages, onclick: () => { state.page++; load(); } }, 'Next'));
            draw();
        } catch (e) {
            if (seq !== loadSeq) return;
            if (state.filter && e.status === 400) { filterCtl.setError(e.message); filterInput.focus(); } else toast(e.message, 'error');
        }
    }

    async function bulkDelete() {
        const ids = [...state.selected];
        if (!await confirmDialog(`Delete ${ids.length} record${ids.length === 1 ? '' : 's'}?`)) return;
        try {
            await api('POST', '/api/batch', { body: { requests: ids.map((id) => ({ method: 'DELETE', url: `/api/collections/${enc(col.name)}/records/${enc(id)}` })) } });
            toast(`Deleted ${ids.length}.`);
        } catch (e) {
            // The batch is all or nothing; fall back to one by one (batch may be off).
            let done = 0;
            for (const id of ids) { try { await api('DELETE', `/api/collections/${enc(col.name)}/records/${enc(id)}`); done++; } catch { /* counted below */ } }
            if (done < ids.length) toast(`Deleted ${done} of ${ids.length}: ${e.message}`, 'error'); else toast(`Deleted ${done}.`);
        }
        state.selected.clear();
        load();
    }

    async function openForm(id) {
        let rec = null;
        if (id) {
            try {
                rec = await api('GET', `/api/collections/${enc(col.name)}/records/${enc(id)}`,
                    { query: { expand: rels.map((f) => f.name).join(',') } });
            } catch (e) { toast(e.message, 'error'); return; }
        }
        const saved = await modal(id ? `Edit ${col.name} record` : `New ${col.name} record`, (close) => recordForm(col, rec, all, close, hide), { wide: true });
        if (saved) load();
    }

    let timer = 0;
    const unsub = realtime.subscribe(col.name + '/*', (msg) => {
        if (msg.action === 'delete') state.selected.delete(msg.record.id);
        clearTimeout(timer);
        timer = setTimeout(load, 100);
    });

    const el = h('section', { class: 'records-screen' },
        h('div', { class: 'bar' }, h('h1', {}, col.name === '_superusers' ? 'Superusers' : col.name),
            h('div', { class: 'buttons' },
                isView ? null : h('button', { type: 'button', class: 'primary', onclick: () => openForm(null) }, 'New record'),
                col.name === '_superusers' || hide ? null : h('a', { class: 'button', href: `#/collections/${enc(col.name)}/edit` }, 'Edit collection'))),
        h('div', { class: 'tools' }, filterForm, chooser), status,
        h('div', { class: 'table-wrap' }, table), h('div', { class: 'bar' }, bulk, pager));
    if (isAuth) el.classList.add('auth');
    await load();
    return { el, cleanup: () => { unsub(); clearTimeout(timer); } };
}

function recordForm(col, rec, all, close, locked) {
    const isAuth = col.type === 'auth';
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const ctls = {};
    const skip = new Set(['tokenKey']);
    const parts = [];
    if (!rec) {
        const idf = col.fields.find((f) => f.name === 'id');
        const c = field('id', h('input', { type: 'text', placeholder: 'Leave empty for a random id' }), idf?.help);
        ctls.id = { ...c, value: () => c.input.value || undefined };
        parts.push(c.wrap);
    } else {
        parts.push(h('p', { class: 'muted' }, 'id ', h('code', {}, rec.id)));
    }
    for (const f of col.fields) {
        if (f.name === 'id' || skip.has(f.name)) continue;
        const ctl = inputFor(f, rec, { all });
        ctls[f.name] = ctl;
        parts.push(ctl.wrap);
        if (isAuth && f.type === 'password') {
            const c = field('passwordConfirm', h('input', { type: 'password', autocomplete: 'new-password' }), 'Repeat the password.');
            ctls.passwordConfirm = { ...c, value: () => c.input.value || undefined };
            parts.push(c.wrap);
        }
    }

    const base = `/api/collections/${enc(col.name)}/records`;
    const submit = async (e) => {
        e.preventDefault();
        setError(null, formError, '');
        const data = {};
        const fd = new FormData();
        let hasFiles = false;
        try {
            for (const [k, c] of Object.entries(ctls)) {
                if (c.isFile) {
                    const files = c.files();
                    if (files.length) {
                        hasFiles = true;
                        const key = rec && c.multi ? k + '+' : k;
                        for (const file of files) fd.append(key, file, file.name);
                    }
                    if (c.removed().length) data[k + '-'] = c.removed();
                    continue;
                }
                const v = c.value();
                if (v !== undefined) data[k] = v;
            }
        } catch (err) { setError(null, formError, err.message); return; }
        try {
            let body = data;
            if (hasFiles) {
                fd.append('@jsonPayload', JSON.stringify(data));
                body = fd;
            }
            const saved = rec ? await api('PATCH', `${base}/${enc(rec.id)}`, { body }) : await api('POST', base, { body });
            toast(rec ? `Saved ${saved.id}.` : `Created ${saved.id}.`);
            close(saved);
        } catch (err) {
            let shown = false;
            for (const [k, v] of Object.entries(err.data || {})) {
                const key = k.replace(/[+-]$/, '');
                if (ctls[key]) { ctls[key].setError(v.message || JSON.stringify(v)); shown = true; }
            }
            setError(null, formError, err.message + (shown ? ' See the fields marked.' : ''));
        }
    };

    const actions = [];
    if (rec) {
        actions.push(h('button', {
            type: 'button', class: 'danger', onclick: async () => {
                if (!await confirmDialog(`Delete record ${rec.id}?`)) return;
                try { await api('DELETE', `${base}/${enc(rec.id)}`); toast(`Deleted ${rec.id}.`); close(true); } catch (err) { setError(null, formError, err.message); }
            },
        }, 'Delete'));
    }
    const authActions = rec && isAuth ? authTools(col, rec, formError) : null;
    // Locked (meta.hideControls): an existing record saves or deletes only after Unlock, as in PocketBase.
    const save = h('button', { type: 'submit', class: 'primary', disabled: !!(rec && locked) }, rec ? 'Save' : 'Create');
    const lockNote = rec && locked ? h('p', { class: 'help lock', role: 'note' }, 'Locked against accidental changes (Settings: Hide collection and record controls). ',
        h('button', {
            type: 'button', class: 'small', onclick: (e) => {
                save.disabled = false;
                for (const b of actions) b.disabled = false;
                e.target.closest('p').remove();
                save.focus();
            },
        }, 'Unlock')) : null;
    if (lockNote) for (const b of actions) b.disabled = true;
    return h('form', { class: 'record-form', noValidate: true, onsubmit: submit }, lockNote, parts, authActions, formError,
        h('div', { class: 'actions sticky' }, actions, h('button', { type: 'button', onclick: () => close() }, 'Cancel'), save));
}

// Verify, impersonate, send reset, for one auth record; on users, links to
// the user's devices, inbox and preferences and to a notification for them.
function authTools(col, rec, formError) {
    const cbase = `/api/collections/${enc(col.name)}`;
    const isSu = col.id === SU_ID;
    const run = (fn) => async () => { try { await fn(); } catch (err) { setError(null, formError, err.message); } };
    const leave = (href, label) => h('a', { class: 'button', href }, label); // the dialog closes with the screen
    return h('fieldset', { class: 'auth-tools' }, h('legend', {}, 'Account'),
        h('p', {}, rec.verified ? 'Verified.' : 'Not verified.'),
        col.id === USERS_ID ? h('p', { class: 'buttons' }, leave('#/notify/' + enc(rec.id), 'Send a notification'),
            leave('#/devices/' + enc(rec.id), 'Devices'), leave('#/inbox/' + enc(rec.id), 'Inbox'),
            leave('#/prefs/' + enc(rec.id), 'Notification preferences')) : null,
        h('div', { class: 'buttons' },
            !isSu && !rec.verified ? h('button', { type: 'button', onclick: run(async () => { await api('POST', cbase + '/request-verification', { body: { email: rec.email } }); toast('Verification mail sent.'); }) }, 'Send verification mail') : null,
            !isSu && !rec.verified ? h('button', { type: 'button', onclick: run(async () => { await api('PATCH', `${cbase}/records/${enc(rec.id)}`, { body: { verified: true } }); toast('Marked verified.'); }) }, 'Mark verified') : null,
            h('button', { type: 'button', onclick: run(async () => { await api('POST', cbase + '/request-password-reset', { body: { email: rec.email } }); toast('Password reset mail sent.'); }) }, 'Send password reset'),
            rec.id === auth.record?.id ? null : h('button', {
                type: 'button', onclick: run(async () => {
                    const r = await api('POST', `${cbase}/impersonate/${enc(rec.id)}`, { body: { duration: 3600 } });
                    await modal('Impersonation token', (close) => h('div', {},
                        h('p', {}, `A token acting as ${rec.email || rec.id} for one hour (not refreshable).`),
                        field('Token', h('textarea', { rows: 4, readOnly: true, class: 'code', value: r.token })).wrap,
                        h('div', { class: 'actions' },
                            h('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(r.token).then(() => toast('Copied.')) }, 'Copy'),
                            h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Done'))));
                }),
            }, 'Impersonate')));
}
