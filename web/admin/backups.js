// backups.js -- the backups screen (/api/backups, PocketBase's shape, the
// JS SDK's pb.backups): the list (name, size, date; newest first), a
// backup made now (an optional name, checked as the server checks it, the
// server's objections under the input), a zip uploaded, and per row
// Download (a superuser file token, then the download URL as an
// <a download>), Restore and Delete, each confirmed. A restore is answered
// 204, then the server stops, swaps the data and starts again on the same
// address: a realtime stream opened before the restore ends when the old
// process goes, then /api/health is asked until the new one answers, and
// the whole page is drawn again (collections may differ; a superuser the
// restored data does not have is sent to the sign-in). The schedule
// (backups.cron, cronMaxKeep) is on the settings screen.
import { h, field, toast, confirmDialog, fmtDate } from './dom.js';
import { api, enc, forgetCollections, setUiMeta } from './api.js';

// The server's rule for a name (core/backup/backup_name.c) and its message.
const NAME_RE = /^[a-z0-9_-]+\.zip$/;
const NAME_MAX = 150;
const RESTART_WAIT = 3 * 60e3; // how long a restart may take before the page says so

export function fmtSize(n) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i === 0 ? `${n} bytes` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The realtime stream as a probe of the process: ready once it is open,
// ended when the server closes it (the old process going away).
function processProbe() {
    const es = new EventSource('/api/realtime');
    const ready = new Promise((res) => { es.addEventListener('open', () => res(true), { once: true }); });
    const ended = new Promise((res) => { es.addEventListener('error', () => { es.close(); res(true); }, { once: true }); });
    return { ready, ended, close: () => es.close() };
}

// Resolves once /api/health answers 200 (false after RESTART_WAIT).
async function healthy(deadline) {
    while (Date.now() < deadline) {
        try {
            if ((await fetch('/api/health', { cache: 'no-store' })).ok) return true;
        } catch { /* not listening yet */ }
        await sleep(300);
    }
    return false;
}

export async function backupsScreen() {
    const table = h('table', { class: 'stack backups' });
    const status = h('p', { class: 'muted', role: 'status' });
    let busy = false; // a restore under way: every action waits
    let alive = true;

    // Create: the optional name, checked here as the server does.
    const name = field('Name (optional)', h('input', { type: 'text', spellcheck: false, autocomplete: 'off', class: 'code', placeholder: 'before-upgrade.zip' }),
        'Lowercase letters, digits, _ and -, ending in .zip. Empty: pb_backup_<app>_<time>.zip.');
    const createBtn = h('button', { type: 'submit', class: 'primary' }, 'Create backup');
    const createForm = h('form', { class: 'inline', noValidate: true, 'aria-label': 'Create a backup', onsubmit: create }, name.wrap, createBtn);

    // Upload: a zip file.
    const file = field('Backup file (.zip)', h('input', { type: 'file', accept: '.zip,application/zip' }),
        'A backup of this server (or another tarmac\'s); kept under its file name.');
    const uploadBtn = h('button', { type: 'submit' }, 'Upload');
    const uploadForm = h('form', { class: 'inline', noValidate: true, 'aria-label': 'Upload a backup', onsubmit: upload }, file.wrap, uploadBtn);

    const buttons = () => [createBtn, uploadBtn, ...table.querySelectorAll('button')];
    const setBusy = (b) => { busy = b; for (const x of buttons()) x.disabled = b; };

    function draw(list) {
        list.sort((a, b) => (a.modified < b.modified ? 1 : a.modified > b.modified ? -1 : a.key.localeCompare(b.key)));
        const act = (label, key, fn, cls) => h('button', { type: 'button', class: 'small' + (cls ? ' ' + cls : ''), 'aria-label': `${label} ${key}`, disabled: busy, onclick: () => fn(key) }, label);
        const rows = list.map((b) => h('tr', { 'data-key': b.key },
            h('th', { scope: 'row', 'data-label': 'Name', class: 'code' }, b.key),
            h('td', { 'data-label': 'Size', class: 'count' }, fmtSize(b.size)),
            h('td', { 'data-label': 'Modified' }, fmtDate(b.modified)),
            h('td', { class: 'row-actions' }, act('Download', b.key, download), act('Restore', b.key, restore), act('Delete', b.key, remove, 'danger'))));
        table.replaceChildren(
            h('thead', {}, h('tr', {}, ['Name', 'Size', 'Modified (UTC)'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Actions')))),
            h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colSpan: 4, class: 'muted' }, 'No backups yet.'))));
        if (!busy) status.textContent = `${list.length} backup${list.length === 1 ? '' : 's'}.`;
    }

    async function load() {
        try {
            const list = await api('GET', '/api/backups');
            if (alive) draw(list);
        } catch (e) { if (alive) toast(e.message, 'error'); }
    }

    async function create(e) {
        e.preventDefault();
        const v = name.input.value.trim();
        name.setError('');
        if (v && v.length > NAME_MAX) { name.setError(`The length must be between 1 and ${NAME_MAX}.`); name.input.focus(); return; }
        if (v && !NAME_RE.test(v)) { name.setError('Must be in a valid format.'); name.input.focus(); return; }
        setBusy(true);
        status.textContent = 'Creating the backup…';
        try {
            await api('POST', '/api/backups', { body: v ? { name: v } : {} });
            name.input.value = '';
            toast('Backup created.');
        } catch (err) {
            name.setError(err.data.name?.message || err.message);
            name.input.focus();
        }
        setBusy(false);
        await load();
    }

    async function upload(e) {
        e.preventDefault();
        file.setError('');
        const f = file.input.files[0];
        if (!f) { file.setError('Choose a .zip file.'); file.input.focus(); return; }
        const body = new FormData();
        body.append('file', f, f.name);
        setBusy(true);
        status.textContent = `Uploading ${f.name}…`;
        try {
            await api('POST', '/api/backups/upload', { body });
            file.input.value = '';
            toast(`${f.name} uploaded.`);
        } catch (err) {
            file.setError(err.data.file?.message || err.message);
            file.input.focus();
        }
        setBusy(false);
        await load();
    }

    // A file token (a few minutes) in the URL: the browser downloads it itself.
    async function download(key) {
        try {
            const { token } = await api('POST', '/api/files/token');
            const a = h('a', { href: `/api/backups/${enc(key)}?token=${enc(token)}`, download: key, hidden: true });
            document.body.append(a);
            a.click();
            a.remove();
        } catch (err) { toast(err.message, 'error'); }
    }

    async function remove(key) {
        if (!await confirmDialog(`Delete the backup ${key}? This cannot be undone.`)) return;
        try {
            await api('DELETE', '/api/backups/' + enc(key));
            toast(`${key} deleted.`);
        } catch (err) { toast(err.message, 'error'); }
        await load();
    }

    async function restore(key) {
        const ok = await confirmDialog(`Restore ${key}? The current data — collections, records, files, settings and superusers — ` +
            'is replaced with the backup\'s, and the server restarts: it does not answer for a moment. ' +
            'Anything changed since the backup was made is lost. If the backup does not have your superuser account, you will be asked to sign in.', 'Restore');
        if (!ok) return;
        setBusy(true);
        status.textContent = `Restoring ${key}…`;
        // Opened before the restore, so its end is the old process going.
        const probe = processProbe();
        await Promise.race([probe.ready, sleep(5000)]);
        try {
            await api('POST', `/api/backups/${enc(key)}/restore`);
        } catch (err) {
            probe.close();
            setBusy(false);
            status.textContent = '';
            toast(err.message, 'error');
            await load();
            return;
        }
        status.textContent = `${key} is being restored: the server is restarting. This page reconnects by itself.`;
        const deadline = Date.now() + RESTART_WAIT;
        await Promise.race([probe.ended, sleep(RESTART_WAIT)]);
        probe.close();
        if (!await healthy(deadline)) {
            status.textContent = 'The server has not answered since the restore began: check its log, then reload this page.';
            return;
        }
        toast(`${key} restored; the server is back.`);
        forgetCollections();
        setUiMeta(null); // the restored data's settings
        // Draw everything again: the sidebar's collections may differ, and a
        // token the restored data does not know sends the page to the sign-in.
        if (alive) window.dispatchEvent(new HashChangeEvent('hashchange'));
    }

    const el = h('section', { class: 'backups-screen' },
        h('div', { class: 'bar' }, h('h1', {}, 'Backups'),
            h('div', { class: 'buttons' }, h('a', { class: 'button', href: '#/settings' }, 'Backup schedule'),
                h('button', { type: 'button', onclick: () => load() }, 'Refresh'))),
        h('p', { class: 'intro' }, 'A backup is one zip of the database and the uploaded files, kept in the data directory. ' +
            'Automatic backups and how many are kept are set under Settings.'),
        h('div', { class: 'card backup-tools' }, createForm, uploadForm),
        status,
        h('div', { class: 'table-wrap' }, table));
    await load();
    return { el, cleanup: () => { alive = false; } };
}
