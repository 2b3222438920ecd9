// dom.js -- the few DOM helpers every screen uses. Data always becomes text
// nodes or properties here: nothing ever goes through innerHTML, so a record
// holding markup shows as markup, never runs.

// h('button', {class: 'x', onclick: fn, 'aria-label': 'y'}, 'text', child...)
// Keys starting with "on" add listeners; class/for/aria-*/data-*/role and
// any key with a dash are attributes; everything else is set as a property
// (value, checked, disabled, type...). Children: nodes, strings (text), arrays,
// null/false (skipped).
export function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
        for (const [k, v] of Object.entries(attrs)) {
            if (v === undefined || v === null || v === false) continue;
            if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
            else if (k === 'class') el.className = v;
            else if (k === 'for') el.htmlFor = v;
            else if (k === 'role' || k.includes('-')) el.setAttribute(k, v === true ? '' : String(v));
            else el[k] = v;
        }
    }
    append(el, children);
    return el;
}

export function append(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false) continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
}

export function clear(el) {
    while (el.firstChild) el.firstChild.remove();
    return el;
}

let uid = 0;
export function nextId(prefix = 'f') {
    return `${prefix}${++uid}`;
}

// A labelled control: returns {wrap, input, error}; error shows messages.
export function field(label, input, help) {
    if (!input.id) input.id = nextId();
    const error = h('p', { class: 'err', id: input.id + '-err', hidden: true });
    input.setAttribute('aria-describedby', error.id);
    const wrap = h('div', { class: 'field' + (input.type === 'checkbox' ? ' check' : '') },
        input.type === 'checkbox' ? [input, h('label', { for: input.id }, label)]
            : [h('label', { for: input.id }, label), input],
        help ? h('p', { class: 'help' }, help) : null, error);
    return { wrap, input, error, setError: (msg) => setError(input, error, msg) };
}

export function setError(input, error, msg) {
    error.textContent = msg || '';
    error.hidden = !msg;
    if (input) {
        if (msg) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
    }
}

export function toast(msg, kind = 'ok') {
    const box = document.getElementById('toasts');
    const t = h('div', { class: 'toast ' + kind }, msg);
    box.append(t);
    setTimeout(() => t.remove(), kind === 'error' ? 6000 : 3000);
}

// A modal <dialog>; resolves with the value passed to close(). build(close)
// returns the dialog's content. Escape closes it; the focus goes back to
// where it was (the button that opened it), if that is still on the page.
export function modal(title, build, { wide = false } = {}) {
    return new Promise((resolve) => {
        const titleId = nextId('dlg');
        const dlg = h('dialog', { class: wide ? 'wide' : '', 'aria-labelledby': titleId });
        const back = document.activeElement;
        let result;
        const close = (v) => { result = v; dlg.close(); };
        dlg.addEventListener('close', () => {
            dlg.remove();
            if (back && back.isConnected && typeof back.focus === 'function') back.focus();
            resolve(result);
        });
        append(dlg, [h('div', { class: 'dlg-head' }, h('h2', { id: titleId }, title),
            h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', onclick: () => close() }, '×')),
        build(close)]);
        document.body.append(dlg);
        dlg.showModal();
    });
}

export function confirmDialog(message, okLabel = 'Delete') {
    return modal('Confirm', (close) => h('div', {},
        h('p', {}, message),
        h('div', { class: 'actions' },
            h('button', { type: 'button', onclick: () => close(false) }, 'Cancel'),
            h('button', { type: 'button', class: 'danger', onclick: () => close(true) }, okLabel))));
}

export function fmtDate(s) {
    return s ? s.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

// A server's validation answer on a form: each message of err.data on the
// control of that key (ctls: key -> {setError}), the rest in formError, and
// the focus on the first field marked. clearErrors() before the next try.
export function showErrors(err, ctls, formError) {
    let shown = false;
    for (const [k, v] of Object.entries(err.data || {})) {
        if (ctls[k]) { ctls[k].setError(v.message || JSON.stringify(v)); shown = true; }
    }
    setError(null, formError, (err.message || String(err)) + (shown ? ' See the fields marked.' : ''));
    const bad = formError.closest('form')?.querySelector('[aria-invalid="true"]');
    if (bad) bad.focus();
}

export function clearErrors(ctls, formError) {
    for (const c of Object.values(ctls)) c.setError('');
    setError(null, formError, '');
}

// 1234567 ms -> "20 min"; for ages and durations shown to people.
export function fmtAge(ms) {
    const s = Math.round(ms / 1000);
    if (s < 1) return `${ms} ms`;
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${Math.round(s / 3600)} h`;
    return `${Math.round(s / 86400)} days`;
}

// The settings' meta.accentColor on buttons and links, through the CSSOM (the
// CSP forbids inline style, not this); an empty or odd value: the stylesheet's.
export function applyAccent(color) {
    const root = document.documentElement.style;
    if (/^#[0-9a-fA-F]{6}$/.test(color || '')) root.setProperty('--accent', color);
    else root.removeProperty('--accent');
}
