// logs.js -- the request log, as PocketBase's Logs page: requests per hour
// (GET /api/logs/stats) drawn as an SVG bar chart with the numbers in a
// table too, the filter box (the filter language over id, created, level,
// message and data.*; the server's 400 shown under it), level toggles, the
// superusers' own requests left out unless asked for, the paged list
// (GET /api/logs) and an entry's view (GET /api/logs/{id}, its data as JSON
// text). The chart and the list use the same filter.
import { h, field, toast, modal, fmtDate } from './dom.js';
import { api, enc } from './api.js';
import { checkFilter } from './filter.js';

export const LEVELS = [[-4, 'debug'], [0, 'info'], [4, 'warn'], [8, 'error']];
const NO_SUPERUSERS = "data.auth != '_superusers'";
const HOUR = 3600e3;
const MAX_HOURS = 7 * 24; // the chart's widest span
const SVG = 'http://www.w3.org/2000/svg';

const levelName = (n) => (LEVELS.find(([v]) => v === n) || [n, String(n)])[1];
const levelTag = (n) => h('span', { class: 'tag lv-' + levelName(n) }, levelName(n));
const clip = (s, n) => (s.length > n ? s.slice(0, n) + '…' : s);
const hourText = (t) => new Date(t).toISOString().slice(0, 13).replace('T', ' ') + ':00';

// The list's columns: [label, cell(entry)]; the first opens the entry.
const COLUMNS = [
    ['Level', (l) => levelTag(l.level)],
    ['Method', (l) => l.data.method || ''],
    ['URL', (l) => h('span', { class: 'code' }, clip(l.data.url || l.message, 90))],
    ['Status', (l) => String(l.data.status ?? '')],
    ['Exec time', (l) => (typeof l.data.execTime === 'number' ? `${l.data.execTime.toFixed(l.data.execTime < 10 ? 2 : 1)} ms` : '')],
    ['Auth', (l) => l.data.auth || h('span', { class: 'muted' }, 'guest')],
];

// An entry's data keys in PocketBase's order, then any others.
const DATA_KEYS = ['execTime', 'type', 'auth', 'authId', 'status', 'method', 'url', 'referer', 'remoteIP', 'userIP', 'userAgent', 'error', 'details'];

export async function logsScreen() {
    const state = { levels: new Set(), filter: '', superusers: false, page: 1, perPage: 50 };
    const figure = h('figure', { class: 'chart card' });
    const table = h('table', { class: 'stack logs' });
    const pager = h('div', { class: 'pager' });
    const status = h('p', { class: 'muted', role: 'status' });
    const levelBtn = (v) => h('button', {
        type: 'button', class: 'toggle', 'aria-pressed': 'false',
        onclick: () => {
            if (v === null) state.levels.clear();
            else if (state.levels.has(v)) state.levels.delete(v); else state.levels.add(v);
            state.page = 1;
            load();
        },
    }, v === null ? 'all' : levelName(v));
    const buttons = [null, ...LEVELS.map(([v]) => v)].map((v) => [v, levelBtn(v)]);
    const box = h('input', { type: 'search', class: 'code', spellcheck: false, autocomplete: 'off', placeholder: 'data.status >= 400' });
    const boxCtl = field('Filter', box, 'Over id, created, level, message and data.* (method, url, status, execTime, auth, userIP, error…).');
    box.addEventListener('input', () => {
        const e = checkFilter(box.value, ['id', 'created', 'level', 'message', 'data']);
        boxCtl.setError(e ? `${e.message} (at ${e.offset})` : '');
    });
    const form = h('form', {
        class: 'filter', role: 'search',
        onsubmit: (e) => { e.preventDefault(); state.filter = box.value.trim(); state.page = 1; load(); },
    }, boxCtl.wrap, h('button', { type: 'submit' }, 'Apply'));
    const su = h('input', { type: 'checkbox', onchange: () => { state.superusers = su.checked; state.page = 1; load(); } });
    const suCtl = field('Include requests by superusers', su);

    const fullFilter = () => [state.filter, state.levels.size ? [...state.levels].map((v) => `level = ${v}`).join(' || ') : '',
        state.superusers ? '' : NO_SUPERUSERS].filter(Boolean).map((f) => `(${f})`).join(' && ');

    function draw(r) {
        for (const [v, b] of buttons) b.setAttribute('aria-pressed', String(v === null ? !state.levels.size : state.levels.has(v)));
        const rows = r.items.map((l) => h('tr', { 'data-id': l.id },
            h('th', { scope: 'row', 'data-label': 'Time' }, h('button', { type: 'button', class: 'link code', onclick: () => openEntry(l.id) }, fmtDate(l.created))),
            COLUMNS.map(([label, cell]) => h('td', { 'data-label': label }, cell(l)))));
        table.replaceChildren(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Time'), COLUMNS.map(([label]) => h('th', { scope: 'col' }, label)))),
            h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colSpan: COLUMNS.length + 1, class: 'muted' }, 'No entries.'))));
        status.textContent = `${r.totalItems} entr${r.totalItems === 1 ? 'y' : 'ies'}.`;
        pager.replaceChildren(
            h('button', { type: 'button', disabled: state.page <= 1, onclick: () => { state.page--; load(); } }, 'Previous'),
            h('span', {}, `Page ${r.page} of ${Math.max(1, r.totalPages)}`),
            h('button', { type: 'button', disabled: state.page >= r.totalPages, onclick: () => { state.page++; load(); } }, 'Next'));
    }

    let loadSeq = 0;
    async function load() {
        const seq = ++loadSeq;
        const filter = fullFilter();
        try {
            const [r, stats] = await Promise.all([
                api('GET', '/api/logs', { query: { filter, sort: '-@rowid', page: state.page, perPage: state.perPage } }),
                api('GET', '/api/logs/stats', { query: { filter } }),
            ]);
            if (seq !== loadSeq) return;
            boxCtl.setError('');
            draw(r);
            figure.replaceChildren(...chart(stats));
        } catch (e) {
            if (seq !== loadSeq) return;
            if (e.status === 400) boxCtl.setError(e.message); else toast(e.message, 'error');
        }
    }

    async function openEntry(id) {
        let entry;
        try { entry = await api('GET', '/api/logs/' + enc(id)); } catch (e) { toast(e.message, 'error'); return; }
        await modal('Log entry', (close) => entryView(entry, close), { wide: true });
    }

    const el = h('section', { class: 'logs-screen' },
        h('div', { class: 'bar' }, h('h1', {}, 'Logs'),
            h('div', { class: 'buttons' }, h('a', { class: 'button', href: '#/settings' }, 'Log settings'),
                h('button', { type: 'button', onclick: load }, 'Refresh'))),
        figure,
        h('div', { class: 'seg', role: 'group', 'aria-label': 'Level' }, buttons.map(([, b]) => b)),
        h('div', { class: 'tools' }, form, suCtl.wrap), status,
        h('div', { class: 'table-wrap' }, table), h('div', { class: 'bar' }, pager));
    await load();
    return { el, cleanup: () => { loadSeq++; } };
}

// [{total, date}] per hour -> the figure's content: an SVG of one bar per
// hour from the first hour with entries (at most MAX_HOURS back, at least
// the last 24) to now, described by its title and desc, and the same
// numbers in a table.
function chart(stats) {
    const points = stats.map((p) => [Date.parse(p.date.replace(' ', 'T')), p.total]).filter(([t]) => !Number.isNaN(t));
    const end = Math.max(Math.floor(Date.now() / HOUR) * HOUR, ...points.map(([t]) => t));
    const start = Math.max(Math.min(end - 23 * HOUR, ...points.map(([t]) => t)), end - (MAX_HOURS - 1) * HOUR);
    const n = Math.round((end - start) / HOUR) + 1;
    const totals = new Array(n).fill(0);
    let sum = 0, shown = 0;
    for (const [t, v] of points) {
        sum += v;
        const i = Math.round((t - start) / HOUR);
        if (i >= 0 && i < n) { totals[i] += v; shown += v; }
    }
    const max = Math.max(...totals);
    const busiest = totals.indexOf(max);
    const W = n * 10, H = 100;
    const s = (tag, attrs, ...kids) => {
        const e = document.createElementNS(SVG, tag);
        for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
        e.append(...kids);
        return e;
    };
    const range = `${hourText(start)} to ${hourText(end + HOUR)} UTC`;
    const desc = max ? `${shown} requests from ${range}; the busiest hour, ${hourText(start + busiest * HOUR)}, had ${max}.`
        : `No requests from ${range}.`;
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-labelledby': 'chart-title chart-desc' },
        s('title', { id: 'chart-title' }, 'Requests per hour'), s('desc', { id: 'chart-desc' }, desc),
        s('line', { x1: 0, y1: H - 0.5, x2: W, y2: H - 0.5, class: 'axis' }),
        ...totals.map((v, i) => (v ? s('rect', { x: i * 10 + 1, y: H - (v / max) * (H - 4), width: 8, height: (v / max) * (H - 4), class: 'bar' },
            s('title', {}, `${hourText(start + i * HOUR)}: ${v}`)) : null)).filter(Boolean));
    const rows = totals.map((v, i) => [hourText(start + i * HOUR), v]).filter(([, v]) => v);
    return [
        h('figcaption', {}, h('strong', {}, 'Requests per hour'), ' ', h('span', { class: 'muted' }, `(max ${max}; ${range})`)),
        h('div', { class: 'plot' }, svg),
        h('p', { class: 'help' }, desc, sum > shown ? ` ${sum - shown} older ones are not drawn.` : ''),
        rows.length ? h('details', {}, h('summary', {}, 'The numbers'),
            h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Hour (UTC)'), h('th', { scope: 'col' }, 'Requests'))),
                h('tbody', {}, rows.map(([t, v]) => h('tr', {}, h('td', {}, t), h('td', {}, String(v))))))) : null,
    ];
}

// An entry's view for modal(): its fields, its data's keys, the data as JSON.
function entryView(l, close) {
    const data = l.data || {};
    const keys = [...new Set([...DATA_KEYS.filter((k) => k in data), ...Object.keys(data)])];
    const val = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
    const json = JSON.stringify(data, null, 2);
    return h('div', { class: 'job-view' },
        h('dl', { class: 'props' }, [['id', h('code', {}, l.id)], ['Level', levelTag(l.level)], ['Created', fmtDate(l.created)],
            ['Message', l.message], ...keys.map((k) => ['data.' + k, val(data[k])])].map(([a, b]) => [h('dt', {}, a), h('dd', {}, b)])),
        h('h3', {}, 'Data'),
        h('pre', { class: 'code json', tabIndex: 0, 'aria-label': 'Data as JSON' }, json),
        h('div', { class: 'actions sticky' },
            h('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(JSON.stringify(l, null, 2)).then(() => toast('Copied.')) }, 'Copy JSON'),
            h('button', { type: 'button', class: 'primary', onclick: () => close() }, 'Close')));
}
