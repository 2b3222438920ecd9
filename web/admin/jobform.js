// jobform.js -- the enqueue form (POST /api/jobs: kind, payload, runAt,
// priority, dedupeKey, maxAttempts; the server's message shown on the field
// it concerns) and what the schedule form shares with it: the kind input,
// which offers the built-in kinds and fills in an example payload for them.
import { h, field, toast, nextId, showErrors, clearErrors } from './dom.js';
import { api } from './api.js';
import { jsonInput, fromLocal } from './inputs.js';

// The built-in kinds (src/core/jobs/registry.c) with an example payload
// each; null: no example (webhook deliveries are made by _webhooks).
// Scripts register more kinds (tarmac.job); any name is accepted here and
// the server says whether it knows it.
export const KINDS = {
    email: { to: 'someone@example.com', subject: 'Hello', text: 'Sent by tarmac.' },
    http: { url: 'https://example.com/hook', method: 'POST', headers: {}, body: {} },
    report: { collection: 'posts', filter: '', sort: '-created', mailTo: 'someone@example.com' },
    thumbs: { collection: 'posts', record: 'RECORD_ID' },
    webhook: null,
};
const KIND_HELP = 'email, http, report, thumbs, webhook, or a kind a script registers (tarmac.job).';

// The kind input; when payloadOf() (the form's payload jsonInput) is given,
// choosing a built-in kind fills in its example while the payload is empty
// or still an example.
export function kindField(value, payloadOf, seen = []) {
    const list = h('datalist', { id: nextId('kinds') },
        [...new Set([...Object.keys(KINDS), ...seen])].map((k) => h('option', { value: k })));
    const c = field('Kind (required)', h('input', { type: 'text', value: value || '', autocomplete: 'off', spellcheck: false }), KIND_HELP);
    c.input.setAttribute('list', list.id);
    c.wrap.append(list);
    if (payloadOf) {
        const examples = new Set(Object.values(KINDS).filter(Boolean).map((p) => JSON.stringify(p, null, 2)));
        c.input.addEventListener('change', () => {
            const payload = payloadOf();
            const cur = payload.input.value.trim();
            const ex = KINDS[c.input.value.trim()];
            if (ex && (!cur || cur === '{}' || examples.has(cur))) {
                payload.input.value = JSON.stringify(ex, null, 2);
                payload.setError('');
            }
        });
    }
    return { ...c, value: () => c.input.value.trim() };
}

const int = (c) => () => (c.input.value === '' ? undefined : Number(c.input.value));

// The enqueue form for modal(); close(job) with the job the server answered.
export function enqueueForm(close, seen) {
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const payload = jsonInput('Payload (JSON object)', null, 'What the kind needs, e.g. email: {"to", "subject", "text"}.');
    const kind = kindField('', () => payload, seen);
    const runAt = field('Run at (UTC)', h('input', { type: 'datetime-local', step: 1 }), 'Empty: now.');
    const priority = field('Priority', h('input', { type: 'number', step: 1, value: '' }), 'Higher runs first; empty: 0.');
    const dedupeKey = field('Dedupe key', h('input', { type: 'text', spellcheck: false }),
        'A queued or failed job of the same kind and key takes this one\'s place.');
    const maxAttempts = field('Max attempts', h('input', { type: 'number', min: 1, max: 100, step: 1 }),
        'Empty: the kind\'s own (webhook 10, http 5, email 30, report 3, thumbs 3).');
    const ctls = {
        kind, payload,
        runAt: { ...runAt, value: () => fromLocal(runAt.input.value) || undefined },
        priority: { ...priority, value: int(priority) },
        dedupeKey: { ...dedupeKey, value: () => dedupeKey.input.value || undefined },
        maxAttempts: { ...maxAttempts, value: int(maxAttempts) },
    };
    const submit = async (e) => {
        e.preventDefault();
        clearErrors(ctls, formError);
        const body = {};
        try {
            for (const [k, c] of Object.entries(ctls)) {
                const v = c.value();
                if (v !== undefined && v !== null) body[k] = v;
            }
        } catch (err) { showErrors(err, {}, formError); return; }
        try {
            const job = await api('POST', '/api/jobs', { body });
            toast(`Enqueued job ${job.id} (${job.status}).`);
            close(job);
        } catch (err) { showErrors(err, ctls, formError); }
    };
    return h('form', { class: 'record-form', noValidate: true, onsubmit: submit },
        kind.wrap, payload.wrap, h('div', { class: 'grid' }, runAt.wrap, priority.wrap, dedupeKey.wrap, maxAttempts.wrap), formError,
        h('div', { class: 'actions sticky' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
            h('button', { type: 'submit', class: 'primary' }, 'Enqueue')));
}
