// jobs.js -- the job queue (/api/jobs): the counts by status and the due
// backlog (/api/jobs/stats), the list filtered by status (toggle buttons,
// several at once) and kind, sorted by column, paged, refreshed every few
// seconds while the box is checked (jobs are no collection: no realtime);
// a job's view (payload as JSON text, attempts, last error, times) with
// retry and cancel; and the enqueue form (jobform.js).
import { h, field, toast, modal, fmtDate, fmtAge } from './dom.js';
import { api, enc } from './api.js';

const STATUSES = ['queued', 'running', 'failed', 'done', 'dead', 'canceled'];
const REFRESH_MS = 2000;

// What a superuser may do to a job, by status (core_job_retry, core_job_cancel).
const ACTIONS = [
    { label: 'Retry', op: 'retry', when: ['failed', 'dead', 'canceled'], done: 'Queued again.' },
    { label: 'Cancel job', op: 'cancel', when: ['queued', 'failed'], done: 'Canceled.', cls: 'danger' },
];

export const statusTag = (s) => h('span', { class: 'tag st-' + s }, s);
const clip = (s, n) => (s.length > n ? s.slice(0, n) + '…' : s);

// The list's columns: [label, sort field or null, cell(job)].
const COLUMNS = [
    ['Kind', 'kind', (j) => j.kind],
    ['Status', 'status', (j) => statusTag(j.status)],
    ['Attempts', 'attempts', (j) => `${j.attempts} / ${j.maxAttempts}`],
    ['Run at', 'runAt', (j) => fmtDate(j.runAt)],
    ['Updated', 'updated', (j) => fmtDate(j.updated)],
    ['Last error', null, (j) => (j.lastError ? clip(j.lastError, 60) : h('span', { class: 'muted' }, '—'))],
];

// A job's fields for its view: [label, value(job)].
const PROPS = [
    ['id', (j) => h('code', {}, j.id)], ['Kind', (j) => j.kind], ['Status', (j) => statusTag(j.status)],
    ['Attempts', (j) => `${j.attempts} of ${j.maxAttempts}`], ['Priority', (j) => String(j.priority)],
    ['Dedupe key', (j) => j.dedupeKey || '—'], ['Run at', (j) => fmtDate(j.runAt)],
    ['Created', (j) => fmtDate(j.created)], ['Updated', (j) => fmtDate(j.updated)],
    ['Finished', (j) => fmtDate(j.finishedAt) || '—'],
];

export async function jobsScreen() {
    const state = { status: new Set(), kind: '', sort: '-created', page: 1, perPage: 30, items: [], kinds: new Set() };
    const statsLine = h('p', { class: 'muted', role: 'status' });
    const table = h('table', { class: 'stack' });
    const pager = h('div', { class: 'pager' });
    const counts = {};
    const statusBtn = (s) => h('button', {
        type: 'button', 'aria-pressed': 'false', class: 'toggle',
        onclick: () => {
            if (s === null) state.status.clear();
            else if (state.status.has(s)) state.status.delete(s); else state.status.add(s);
            state.page = 1;
            load();
        },
    }, s || 'all', ' ', counts[s || 'all'] = h('span', { class: 'count' }));
    const buttons = [null, ...STATUSES].map((s) => [s, statusBtn(s)]);
    const kindInput = h('input', { type: 'search', spellcheck: false, autocomplete: 'off', placeholder: 'any' });
    const kindList = h('datalist', { id: 'job-kinds' });
    kindInput.setAttribute('list', kindList.id);
    const kindCtl = field('Kind', kindInput);
    kindCtl.wrap.append(kindList);
    const kindForm = h('form', {
        class: 'filter', role: 'search', onsubmit: (e) => { e.preventDefault(); state.kind = kindInput.value.trim(); state.page = 1; load(); },
    }, kindCtl.wrap, h('button', { type: 'submit' }, 'Apply'));
    const auto = h('input', { type: 'checkbox', checked: true, onchange: () => schedule() });
    const autoCtl = field(`Auto-refresh (every ${REFRESH_MS / 1000} s)`, auto);

    function draw() {
        for (const [s, b] of buttons) b.setAttribute('aria-pressed', String(s === null ? !state.status.size : state.status.has(s)));
        const head = h('tr', {}, h('th', { scope: 'col' }, 'Job'), COLUMNS.map(([label, key]) => {
            if (!key) return h('th', { scope: 'col' }, label);
            const dir = state.sort === key ? 'ascending' : state.sort === '-' + key ? 'descending' : null;
            return h('th', { scope: 'col', 'aria-sort': dir || 'none' }, h('button', {
                type: 'button', class: 'sort', onclick: () => { state.sort = state.sort === '-' + key ? key : '-' + key; state.page = 1; load(); },
            }, label, h('span', { 'aria-hidden': 'true' }, dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '')));
        }));
        const rows = state.items.map((j) => h('tr', { 'data-id': j.id },
            h('td', { 'data-label': 'Job' }, h('button', { type: 'button', class: 'link code', 'aria-label': 'View job ' + j.id, onclick: () => openJob(j.id) }, j.id)),
            COLUMNS.map(([label, , cell]) => h('td', { 'data-label': label }, cell(j)))));
        table.replaceChildren(h('thead', {}, head), h('tbody', {}, rows.length ? rows
            : h('tr', {}, h('td', { colSpan: COLUMNS.length + 1, class: 'muted' }, 'No jobs.'))));
    }

    let loadSeq = 0;
    async function load() {
        const seq = ++loadSeq;
        try {
            const [r, st] = await Promise.all([
                api('GET', '/api/jobs', { query: { status: [...state.status].join(','), kind: state.kind, sort: state.sort, page: state.page, perPage: state.perPage } }),
                api('GET', '/api/jobs/stats'),
            ]);
            if (seq !== loadSeq) return;
            state.items = r.items;
            for (const j of r.items) state.kinds.add(j.kind);
            kindList.replaceChildren(...[...state.kinds].sort().map((k) => h('option', { value: k })));
            let total = 0;
            for (const s of STATUSES) { counts[s].textContent = `(${st[s] || 0})`; total += st[s] || 0; }
            counts.all.textContent = `(${total})`;
            statsLine.textContent = `${st.queued + st.failed} waiting, ${st.running} running; ${st.due} due now` +
                (st.due ? `, the oldest for ${fmtAge(st.oldestDueAgeMs)}.` : '.') + ` Showing ${r.totalItems} job${r.totalItems === 1 ? '' : 's'}.`;
            pager.replaceChildren(
                h('button', { type: 'button', disabled: state.page <= 1, onclick: () => { state.page--; load(); } }, 'Previous'),
                h('span', {}, `Page ${r.page} of ${Math.max(1, r.totalPages)}`),
                h('button', { type: 'button', disabled: state.page >= r.totalPages, onclick: () => { state.page++; load(); } }, 'Next'));
            kindCtl.setError('');
            draw();
        } catch (e) {
            if (seq !== loadSeq) return;
            if (e.status === 400) kindCtl.setError(e.message); else toast(e.message, 'error');
        }
    }

    let timer = 0;
    let isGone = false; // the screen was left: a refresh under way schedules no next one
    function schedule() {
        clearTimeout(timer);
        if (auto.checked && !isGone) timer = setTimeout(async () => { await load(); schedule(); }, REFRESH_MS);
    }

    async function openJob(id) {
        let job;
        try { job = await api('GET', '/api/jobs/' + enc(id)); } catch (e) { toast(e.message, 'error'); return; }
        await modal('Job ' + id, (close) => jobView(job, close), { wide: true });
        load();
    }

    async function enqueue() {
        const { enqueueForm } = await import('./jobform.js');
        const job = await modal('Enqueue a job', (close) => enqueueForm(close, [...state.kinds]), { wide: true });
        if (job) load();
    }

    const el = h('section', { class: 'jobs-screen' },
        h('div', { class: 'bar' }, h('h1', {}, 'Jobs'),
            h('div', { class: 'buttons' },
                h('button', { type: 'button', onclick: load }, 'Refresh'),
                h('button', { type: 'button', class: 'primary', onclick: enqueue }, 'Enqueue job'))),
        h('div', { class: 'seg', role: 'group', 'aria-label': 'Status' }, buttons.map(([, b]) => b)),
        h('div', { class: 'tools' }, kindForm, autoCtl.wrap), statsLine,
        h('div', { class: 'table-wrap' }, table), h('div', { class: 'bar' }, pager));
    await load();
    schedule();
    return { el, cleanup: () => { isGone = true; clearTimeout(timer); loadSeq++; } };
}

// A job's view for modal(): its fields, last error, payload, and the actions
// its status allows; an action redraws the view with the job the server answers.
export function jobView(job, close) {
    const box = h('div', { class: 'job-view' });
    const draw = (j) => box.replaceChildren(
        h('dl', { class: 'props' }, PROPS.map(([label, v]) => [h('dt', {}, label), h('dd', {}, v(j))])),
        h('h3', {}, 'Last error'),
        j.lastError ? h('pre', { class: 'code err-text' }, j.lastError) : h('p', { class: 'muted' }, 'None.'),
        h('h3', {}, 'Payload'),
        h('pre', { class: 'code json', tabIndex: 0, 'aria-label': 'Payload' }, JSON.stringify(j.payload, null, 2)),
        h('div', { class: 'actions sticky' },
            ACTIONS.filter((a) => a.when.includes(j.status)).map((a) => h('button', {
                type: 'button', class: a.cls || null, onclick: async () => {
                    try { draw(await api('POST', `/api/jobs/${enc(j.id)}/${a.op}`)); toast(a.done); } catch (e) { toast(e.message, 'error'); }
                },
            }, a.label)),
            h('button', {
                type: 'button', onclick: async () => { try { draw(await api('GET', '/api/jobs/' + enc(j.id))); } catch (e) { toast(e.message, 'error'); } },
            }, 'Reload'),
            h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Close')));
    draw(job);
    return box;
}
