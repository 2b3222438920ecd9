// app.js -- the dashboard's shell: a hash router (#/login, #/collections,
// #/collections/NAME/edit, #/records/NAME, #/superusers, #/jobs, #/webhooks,
// #/inbound, #/schedules, #/notify[/USER], #/triggers, #/devices[/USER],
// #/templates, #/inbox[/USER], #/prefs[/USER],
// #/logs, #/settings, #/backups, #/auth/confirm-*/TOKEN) and the layout
// (sidebar of collections, background work, notifications and system
// screens; main area). Screens are modules loaded on first use, so the
// sign-in screen needs only dom.js, api.js and login.js.
import { h, toast, applyAccent } from './dom.js';
import { api, auth, collections, uiMeta, setUiMeta } from './api.js';

const root = document.getElementById('app');
let cleanup = null; // the current screen's teardown (realtime subscriptions)

function route() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    return parts.filter((p, i) => p !== '' || i === 0);
}

// The background-work screens: path -> [menu label, load() -> {el, cleanup}].
const WORK = {
    jobs: ['Jobs', () => import('./jobs.js').then((m) => m.jobsScreen())],
    webhooks: ['Outbound webhooks', () => import('./hooks.js').then((m) => m.hookScreen('webhooks'))],
    inbound: ['Inbound webhooks', () => import('./hooks.js').then((m) => m.hookScreen('inbound'))],
    schedules: ['Schedules', () => import('./hooks.js').then((m) => m.hookScreen('schedules'))],
};
// The notification screens: load(arg) takes the hash's next part (a user id).
const NOTIFY = {
    notify: ['Send notification', (arg) => import('./notify.js').then((m) => m.sendScreen(arg)), true],
    triggers: ['Triggers', () => import('./notify.js').then((m) => m.notifyTable('triggers'))],
    devices: ['Devices', (arg) => import('./notify.js').then((m) => m.notifyTable('devices', arg)), true],
    templates: ['Templates', () => import('./notify.js').then((m) => m.notifyTable('templates'))],
    inbox: ['Inbox', (arg) => import('./notify.js').then((m) => m.notifyTable('inbox', arg)), true],
    prefs: ['Preferences', (arg) => import('./notify.js').then((m) => m.notifyTable('prefs', arg)), true],
};
// The system screens, the same way.
const SYSTEM = {
    logs: ['Logs', () => import('./logs.js').then((m) => m.logsScreen())],
    settings: ['Settings', () => import('./settings.js').then((m) => m.settingsScreen())],
    backups: ['Backups', () => import('./backups.js').then((m) => m.backupsScreen())],
};
const SCREENS = { ...WORK, ...NOTIFY, ...SYSTEM };

let renderSeq = 0;

// Builds the screen for the current hash off-document and swaps it in only if
// no later navigation started meanwhile (screens load data asynchronously).
async function render() {
    const seq = ++renderSeq;
    // A dialog of the screen left goes with it (they live outside #app).
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    if (cleanup) { try { cleanup(); } catch { /* the old screen is gone anyway */ } cleanup = null; }
    const [first, second, third] = route();
    // Overtaken by a later navigation: this render builds and shows nothing
    // more (a screen loads data and subscribes to live updates as it is built).
    const stale = () => seq !== renderSeq;
    const show = (nodes, done) => {
        if (stale()) { if (done) done(); return; }
        root.replaceChildren(...nodes);
        window.scrollTo(0, 0); // a new screen starts at its top
        cleanup = done || null;
    };
    if (first === 'auth') {
        const m = await import('./authpages.js');
        show([m.authPage(second, third || '')]);
        return;
    }
    if (!auth.token || !auth.isValid()) {
        auth.clear();
        const m = await import('./login.js');
        if (first !== 'login') history.replaceState(null, '', '#/login');
        show([m.loginScreen(() => { location.hash = '#/collections'; })]);
        return;
    }
    if (first === 'login' || !first) { location.hash = '#/collections'; return; }
    const main = h('main', { id: 'main', tabIndex: -1 });
    const [side, meta] = await Promise.all([sidebar(first === 'records' ? second : first), uiMeta()]);
    if (stale()) return;
    applyAccent(meta.accentColor); // meta.hideControls is read by the screens
    let done = null;
    try {
        if (first === 'collections') {
            const m = await import('./collections.js');
            if (second === 'new') main.append(await m.collectionEditor(null));
            else if (second && third === 'edit') main.append(await m.collectionEditor(second));
            else main.append(await m.collectionList());
        } else if ((first === 'records' && second) || first === 'superusers') {
            const m = await import('./records.js');
            if (stale()) return;
            const r = await m.recordsScreen(first === 'superusers' ? '_superusers' : second);
            main.append(r.el);
            done = r.cleanup;
        } else if (Object.hasOwn(SCREENS, first) && (!second || SCREENS[first][2]) && !third) {
            const r = await SCREENS[first][1](second);
            main.append(r.el);
            done = r.cleanup;
        } else {
            main.append(h('h1', {}, 'Not found'), h('p', {}, 'No such page.'));
        }
    } catch (e) {
        main.append(h('p', { class: 'err', role: 'alert' }, e.message || String(e)));
    }
    show([h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'), side, main], done);
}

async function sidebar(current) {
    let list = [];
    try { list = await collections(); } catch (e) { toast(e.message, 'error'); }
    const nav = h('nav', { class: 'side', 'aria-label': 'Main' });
    const toggle = h('button', {
        type: 'button', class: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'side-list',
        onclick: () => {
            const open = nav.classList.toggle('open');
            toggle.setAttribute('aria-expanded', String(open));
        },
    }, 'Menu');
    const link = (href, label, active) => h('li', {}, h('a', { href, 'aria-current': active ? 'page' : null }, label));
    nav.append(h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'T'), 'tarmac'), toggle,
        h('ul', { id: 'side-list' },
            link('#/collections', 'Collections', current === 'collections'),
            list.filter((c) => !c.system || c.name === 'users').map((c) =>
                link('#/records/' + encodeURIComponent(c.name), c.name, current === c.name)),
            link('#/superusers', 'Superusers', current === 'superusers' || current === '_superusers'),
            h('li', { class: 'group' }, 'Background work'),
            Object.entries(WORK).map(([path, [label]]) => link('#/' + path, label, current === path)),
            h('li', { class: 'group' }, 'Notifications'),
            Object.entries(NOTIFY).map(([path, [label]]) => link('#/' + path, label, current === path)),
            h('li', { class: 'group' }, 'System'),
            Object.entries(SYSTEM).map(([path, [label]]) => link('#/' + path, label, current === path))),
        h('div', { class: 'me' }, h('span', { class: 'muted' }, auth.record?.email || ''),
            h('button', { type: 'button', onclick: logout }, 'Sign out')));
    return nav;
}

function logout() {
    setUiMeta(null);
    auth.clear();
    location.hash = '#/login';
}

// Keeps the token fresh while the tab is open (superuser tokens last a day).
setInterval(async () => {
    if (!auth.token) return;
    try {
        const r = await api('POST', '/api/collections/_superusers/auth-refresh');
        auth.save(r.token, r.record);
    } catch { /* a 401 already sent the user to the sign-in screen */ }
}, 30 * 60 * 1000);

window.addEventListener('hashchange', render);
render().then(() => {
    document.documentElement.dataset.ready = '1';
    if (window.performance) performance.mark('tarmac-ready');
});
