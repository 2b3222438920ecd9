// systable.js -- a screen for one system collection that configures
// background work or notifications (_webhooks, _inboundWebhooks, _schedules,
// _notifyTriggers, _devices, _notifyTemplates, _notifications,
// _notifyPrefs): the table of its records and a form per
// record, both described by a spec (hooks.js, notify.js):
//
//   { collection, title, noun, key (the field naming a record), label?(rec)
//     (names it instead, in the buttons' labels), intro, sort,
//     noCreate? (no New button: why, said instead),
//     defaults (a new record's values),
//     columns: [[label, cell(rec, ctx)]],
//     fields: [{ name, label, help, input?(rec, ctx) }]  (default: inputs.js's
//       control for the collection's field of that name),
//     check?(data, ctx) -> {field: message} (before saving; async),
//     rowActions?(rec, ctx) -> nodes, load?(ctx) (extra data per refresh),
//     formExtra?(ctls) -> node, expand? (relations to expand, for the
//     columns and the form's pickers), search? (a filter box: its
//     placeholder; checked as you type, then by the server) }
//
// Records go through the records API like records.js (the server's
// validation errors shown on their fields), 50 a page; ctx is
// {col, all, reload, ...load()}. filter: the search box's first value.
import { h, field, toast, modal, confirmDialog, showErrors, clearErrors } from './dom.js';
import { api, enc, collections } from './api.js';
import { inputFor } from './inputs.js';
import { checkFilter } from './filter.js';

const PER_PAGE = 50;

export async function sysScreen(spec, filter = '') {
    const base = `/api/collections/${enc(spec.collection)}/records`;
    const [col, all] = await Promise.all([api('GET', '/api/collections/' + enc(spec.collection)), collections(true)]);
    const ctx = { col, all, reload: load };
    const table = h('table', { class: 'stack' });
    const status = h('p', { class: 'muted', role: 'status' });
    const pager = h('div', { class: 'pager' });
    const state = { page: 1, filter: spec.search ? filter : '' };

    // The filter box: the language checked as you type against the
    // collection's fields; the server's verdict under it on Apply.
    let search = null;
    if (spec.search) {
        const input = h('input', { type: 'search', class: 'code', spellcheck: false, autocomplete: 'off', placeholder: spec.search, value: state.filter });
        search = field('Filter', input);
        input.addEventListener('input', () => {
            const e = checkFilter(input.value, col.fields.map((f) => f.name));
            search.setError(e ? `${e.message} (at ${e.offset})` : '');
        });
    }
    const searchForm = search ? h('form', {
        class: 'filter', role: 'search', onsubmit: (e) => {
            e.preventDefault();
            state.filter = search.input.value.trim();
            state.page = 1;
            load();
        },
    }, search.wrap, h('button', { type: 'submit' }, 'Apply')) : null;

    let loadSeq = 0;
    async function load() {
        const seq = ++loadSeq;
        try {
            const [r, extra] = await Promise.all([api('GET', base, {
                query: { page: state.page, perPage: PER_PAGE, sort: spec.sort || 'created', filter: state.filter, expand: spec.expand },
            }), spec.load ? spec.load(ctx) : null]);
            if (seq !== loadSeq) return;
            Object.assign(ctx, extra);
            if (search) search.setError('');
            status.textContent = `${r.totalItems} record${r.totalItems === 1 ? '' : 's'}` + (state.filter ? ' match.' : '.');
            pager.hidden = r.totalPages <= 1;
            pager.replaceChildren(
                h('button', { type: 'button', disabled: state.page <= 1, onclick: () => { state.page--; load(); } }, 'Previous'),
                h('span', {}, `Page ${r.page} of ${Math.max(1, r.totalPages)}`),
                h('button', { type: 'button', disabled: state.page >= r.totalPages, onclick: () => { state.page++; load(); } }, 'Next'));
            const rows = r.items.map((rec) => h('tr', { 'data-id': rec.id },
                spec.columns.map(([label, cell], i) => h(i ? 'td' : 'th', { 'data-label': label, scope: i ? null : 'row' }, cell(rec, ctx))),
                h('td', { class: 'row-actions' }, spec.rowActions ? spec.rowActions(rec, ctx) : null,
                    h('button', { type: 'button', class: 'small', 'aria-label': `Edit ${spec.noun} ${(spec.label ? spec.label(rec) : rec[spec.key]) || rec.id}`, onclick: () => openForm(rec) }, 'Edit'))));
            table.replaceChildren(
                h('thead', {}, h('tr', {}, spec.columns.map(([label]) => h('th', { scope: 'col' }, label)), h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Actions')))),
                h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colSpan: spec.columns.length + 1, class: 'muted' }, `No ${spec.noun}s yet.`))));
        } catch (e) {
            if (seq !== loadSeq) return;
            if (search && state.filter && e.status === 400) { search.setError(e.message); search.input.focus(); } else toast(e.message, 'error');
        }
    }

    async function openForm(rec) {
        const saved = await modal(rec ? `Edit ${spec.noun}` : `New ${spec.noun}`, (close) => sysForm(spec, rec, ctx, base, close), { wide: true });
        if (saved) load();
    }

    const el = h('section', {},
        h('div', { class: 'bar' }, h('h1', {}, spec.title),
            h('div', { class: 'buttons' },
                h('button', { type: 'button', onclick: load }, 'Refresh'),
                spec.noCreate ? null : h('button', { type: 'button', class: 'primary', onclick: () => openForm(null) }, `New ${spec.noun}`))),
        h('p', { class: 'intro' }, spec.intro), spec.noCreate ? h('p', { class: 'help' }, spec.noCreate) : null, searchForm ? h('div', { class: 'tools' }, searchForm) : null, status,
        h('div', { class: 'table-wrap' }, table), h('div', { class: 'bar' }, pager));
    await load();
    return { el, cleanup: () => { loadSeq++; } };
}

function sysForm(spec, rec, ctx, base, close) {
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const ctls = {};
    for (const f of spec.fields) {
        const cf = ctx.col.fields.find((x) => x.name === f.name);
        ctls[f.name] = f.input ? f.input(rec, ctx, ctls) : inputFor({ ...cf, label: f.label, help: f.help }, rec || spec.defaults || null, { all: ctx.all });
    }
    const submit = async (e) => {
        e.preventDefault();
        clearErrors(ctls, formError);
        const data = {};
        try {
            for (const [k, c] of Object.entries(ctls)) { const v = c.value(); if (v !== undefined) data[k] = v; }
        } catch (err) { showErrors(err, {}, formError); return; }
        const errs = spec.check ? await spec.check(data, ctx) : null;
        if (errs && Object.keys(errs).length) {
            const data2 = Object.fromEntries(Object.entries(errs).map(([k, m]) => [k, { message: m }]));
            showErrors({ message: 'Not saved.', data: data2 }, ctls, formError);
            return;
        }
        try {
            const saved = rec ? await api('PATCH', `${base}/${enc(rec.id)}`, { body: data }) : await api('POST', base, { body: data });
            toast(rec ? `Saved ${spec.noun}.` : `Created ${spec.noun}.`);
            close(saved);
        } catch (err) { showErrors(err, ctls, formError); }
    };
    const del = rec ? h('button', {
        type: 'button', class: 'danger', onclick: async () => {
            if (!await confirmDialog(`Delete this ${spec.noun}?`)) return;
            try { await api('DELETE', `${base}/${enc(rec.id)}`); toast(`Deleted ${spec.noun}.`); close(true); } catch (err) { showErrors(err, {}, formError); }
        },
    }, 'Delete') : null;
    return h('form', { class: 'record-form', noValidate: true, onsubmit: submit },
        spec.fields.map((f) => ctls[f.name].wrap), spec.formExtra ? spec.formExtra(ctls) : null, formError,
        h('div', { class: 'actions sticky' }, del, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
            h('button', { type: 'submit', class: 'primary' }, rec ? 'Save' : 'Create')));
}
