// inputs.js -- one form control per field type for the record form. Each
// returns {wrap, value(), setError(msg), files?} where value() gives what the
// API takes for that field (or throws an Error with a message to show). A
// field's optional `label` replaces its name as the label (the friendlier
// forms of systable.js).
import { h, field, nextId } from './dom.js';
import { api, enc, fileUrl } from './api.js';

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

export function presentable(record, col) {
    if (!record) return '';
    const keys = col ? col.fields.filter((f) => f.presentable).map((f) => f.name) : [];
    const vals = keys.map((k) => record[k]).filter((v) => v !== '' && v !== undefined && v !== null);
    if (vals.length) return vals.join(' ');
    for (const k of ['name', 'title', 'email', 'username', 'label']) if (record[k]) return String(record[k]);
    return record.id;
}

// "2025-01-02 03:04:05.678Z" <-> the datetime-local value "2025-01-02T03:04:05" (UTC).
export const toLocal = (s) => (s ? s.replace(' ', 'T').replace(/(\.\d+)?Z$/, '').slice(0, 19) : '');
export const fromLocal = (s) => (s ? (s.length === 16 ? s + ':00' : s).replace('T', ' ') + '.000Z' : '');

// A JSON textarea checked as you type; value() parses it (null when empty) or throws.
export function jsonInput(label, v, help) {
    const c = field(label, h('textarea', { rows: 5, class: 'code', spellcheck: false, value: v === undefined || v === null ? '' : JSON.stringify(v, null, 2) }), help);
    const check = () => {
        try { if (c.input.value.trim()) JSON.parse(c.input.value); c.setError(''); return true; } catch (e) { c.setError('Invalid JSON: ' + e.message); return false; }
    };
    c.input.addEventListener('input', check);
    return {
        ...c, value: () => {
            if (!check()) throw new Error('Invalid JSON.');
            return c.input.value.trim() ? JSON.parse(c.input.value) : null;
        },
    };
}

export function inputFor(f, record, ctx) {
    const v = record ? record[f.name] : undefined;
    const label = (f.label || f.name) + (f.required ? ' (required)' : '');
    const multi = (f.maxSelect || 0) > 1;
    switch (f.type) {
    case 'bool': {
        const c = field(label, h('input', { type: 'checkbox', checked: !!v }), f.help);
        return { ...c, value: () => c.input.checked };
    }
    case 'number': {
        const c = field(label, h('input', { type: 'number', step: f.onlyInt ? '1' : 'any', value: v ?? '' }), f.help);
        return { ...c, value: () => (c.input.value === '' ? 0 : Number(c.input.value)) };
    }
    case 'email': case 'url': case 'text': {
        const c = field(label, h('input', { type: f.type === 'text' ? 'text' : f.type, value: v ?? '' }), f.help);
        return { ...c, value: () => c.input.value };
    }
    case 'editor': {
        const c = field(label, h('textarea', { rows: 6, value: v ?? '' }), f.help || 'HTML, stored as written.');
        return { ...c, value: () => c.input.value };
    }
    case 'date': {
        const c = field(label + ' (UTC)', h('input', { type: 'datetime-local', step: 1, value: toLocal(v) }), f.help);
        return { ...c, value: () => fromLocal(c.input.value) };
    }
    case 'autodate': {
        const c = field(label, h('input', { type: 'text', readOnly: true, value: v ?? '' }), 'Set by the server.');
        return { ...c, value: () => undefined };
    }
    case 'password': {
        const c = field(label, h('input', { type: 'password', autocomplete: 'new-password', value: '' }),
            record ? 'Leave empty to keep the current password.' : f.help);
        return { ...c, value: () => c.input.value || undefined };
    }
    case 'json': return jsonInput(label, v, f.help || 'JSON.');
    case 'vector': return jsonInput(label, v, f.help || `A list of ${f.dimensions} numbers, such as [0.1, 0.2].`);
    case 'geoPoint': {
        const pt = v || { lon: 0, lat: 0 };
        const lon = field('Longitude', h('input', { type: 'number', step: 'any', min: -180, max: 180, value: pt.lon }));
        const lat = field('Latitude', h('input', { type: 'number', step: 'any', min: -90, max: 90, value: pt.lat }));
        const err = h('p', { class: 'err', hidden: true });
        const wrap = h('fieldset', { class: 'field' }, h('legend', {}, label), h('div', { class: 'grid' }, lon.wrap, lat.wrap), err);
        return {
            wrap, value: () => ({ lon: Number(lon.input.value || 0), lat: Number(lat.input.value || 0) }),
            setError: (m) => { err.textContent = m || ''; err.hidden = !m; },
        };
    }
    case 'select': {
        const cur = multi ? v || [] : v ? [v] : [];
        if (!multi) {
            const c = field(label, h('select', {}, h('option', { value: '' }, '—'),
                (f.values || []).map((x) => h('option', { value: x, selected: cur.includes(x) }, x))), f.help);
            return { ...c, value: () => c.input.value };
        }
        const boxes = (f.values || []).map((x) => h('input', { type: 'checkbox', value: x, checked: cur.includes(x), id: nextId() }));
        const err = h('p', { class: 'err', hidden: true });
        const wrap = h('fieldset', { class: 'field' }, h('legend', {}, label),
            h('div', { class: 'checks' }, boxes.map((b) => h('span', { class: 'check' }, b, h('label', { for: b.id }, b.value)))), err);
        return { wrap, value: () => boxes.filter((b) => b.checked).map((b) => b.value), setError: (m) => { err.textContent = m || ''; err.hidden = !m; } };
    }
    case 'file': return fileInput(f, record, label, multi);
    case 'relation': return relationInput(f, record, label, multi, ctx);
    }
    const c = field(label, h('input', { type: 'text', value: v ?? '' }));
    return { ...c, value: () => c.input.value };
}

function fileInput(f, record, label, multi) {
    const current = record ? [].concat(record[f.name] || []) : [];
    const removed = new Set();
    const picker = h('input', { type: 'file', multiple: multi });
    const c = field(label, picker, f.help || (f.mimeTypes?.length ? 'Allowed: ' + f.mimeTypes.join(', ') : null));
    const previews = h('ul', { class: 'files', 'aria-label': 'New files' });
    const existing = h('ul', { class: 'files', 'aria-label': 'Current files' }, current.map((name) => {
        const btn = h('button', {
            type: 'button', 'aria-pressed': 'false', class: 'small',
            onclick: () => {
                const on = !removed.has(name);
                if (on) removed.add(name); else removed.delete(name);
                btn.setAttribute('aria-pressed', String(on));
                btn.textContent = on ? 'Undo remove' : 'Remove';
                li.classList.toggle('removed', on);
            },
        }, 'Remove');
        const li = h('li', {},
            IMAGE.test(name) ? h('img', { src: fileUrl(record, name, '100x100'), alt: 'Thumbnail of ' + name, width: 50, height: 50, loading: 'lazy' })
                : h('span', { class: 'fileicon', 'aria-hidden': 'true' }, '📄'),
            h('a', { href: fileUrl(record, name), target: '_blank', rel: 'noopener' }, name), btn);
        return li;
    }));
    let urls = [];
    picker.addEventListener('change', () => {
        urls.forEach((u) => URL.revokeObjectURL(u));
        urls = [];
        previews.replaceChildren(...[...picker.files].map((file) => {
            let img = null;
            if (/^image\//.test(file.type)) {
                const u = URL.createObjectURL(file);
                urls.push(u);
                img = h('img', { src: u, alt: 'Preview of ' + file.name, width: 50, height: 50 });
            }
            return h('li', {}, img, h('span', {}, `${file.name} (${Math.ceil(file.size / 1024)} KiB)`));
        }));
    });
    c.wrap.append(existing, previews);
    return {
        ...c, isFile: true,
        files: () => [...picker.files],
        removed: () => [...removed],
        multi,
        value: () => undefined,
    };
}

function relationInput(f, record, label, multi, ctx) {
    const target = ctx.all.find((c) => c.id === f.collectionId);
    let ids = record ? [].concat(record[f.name] || []).filter(Boolean) : [];
    const labels = new Map();
    const exp = record?.expand?.[f.name];
    for (const r of [].concat(exp || [])) labels.set(r.id, presentable(r, target));
    const chosen = h('ul', { class: 'chips', 'aria-label': `Selected ${f.name}` });
    const drawChosen = () => chosen.replaceChildren(...ids.map((id) => h('li', {}, h('span', {}, labels.get(id) || id),
        h('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${labels.get(id) || id}`, onclick: () => { ids = ids.filter((x) => x !== id); drawChosen(); } }, '×'))));
    drawChosen();
    const search = h('input', { type: 'search', placeholder: target ? `Search ${target.name}` : 'No target collection', autocomplete: 'off' });
    const c = field(label, search, f.help || (target ? `Records of ${target.name}.` : null));
    const results = h('ul', { class: 'results', 'aria-label': `${f.name} search results` });
    let timer = 0;
    const run = async () => {
        if (!target) return;
        const q = search.value.trim();
        const textFields = target.fields.filter((x) => ['text', 'email', 'url'].includes(x.type) && !x.hidden).map((x) => x.name);
        const filter = q ? textFields.map((n) => `${n} ~ ${JSON.stringify(q)}`).join(' || ') : '';
        try {
            const r = await api('GET', `/api/collections/${enc(target.id)}/records`, { query: { perPage: 10, filter, skipTotal: 1 } });
            results.replaceChildren(...r.items.map((it) => {
                labels.set(it.id, presentable(it, target));
                return h('li', {}, h('button', {
                    type: 'button', class: 'link', onclick: () => {
                        if (multi) { if (!ids.includes(it.id)) ids.push(it.id); } else ids = [it.id];
                        drawChosen();
                        results.replaceChildren();
                        search.value = '';
                    },
                }, `${presentable(it, target)} (${it.id})`));
            }));
            if (!r.items.length) results.replaceChildren(h('li', { class: 'muted' }, 'No match.'));
        } catch (e) { c.setError(e.message); }
    };
    search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(run, 200); });
    search.addEventListener('focus', () => { if (!results.firstChild) run(); });
    c.wrap.insertBefore(chosen, search);
    c.wrap.append(results);
    return { ...c, value: () => (multi ? ids : ids[0] || '') };
}
