// api.js -- the dashboard's only way to the server: the public REST API with
// the superuser's token (kept in localStorage under "tarmac_admin"), and the
// realtime SSE protocol (PB_CONNECT, then POST /api/realtime with the client
// id and the Authorization header).

const KEY = 'tarmac_admin';

export class ApiError extends Error {
    constructor(status, body) {
        super((body && body.message) || (body && body.mfaId ? 'A second sign-in step is needed.' : `HTTP ${status}`));
        this.status = status;
        this.data = (body && body.data) || {};
        this.mfaId = (body && body.mfaId) || ''; // a first factor of MFA (401 {mfaId})
    }
}

export const auth = {
    get token() { return this.state?.token || ''; },
    get record() { return this.state?.record || null; },
    state: (() => { try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; } })(),
    save(token, record) {
        this.state = { token, record };
        localStorage.setItem(KEY, JSON.stringify(this.state));
    },
    clear() {
        this.state = null;
        localStorage.removeItem(KEY);
    },
    // True when the token's exp is still ahead (the signature is the server's business).
    isValid() {
        const p = jwtPayload(this.token);
        return !!p && p.exp * 1000 > Date.now() + 10000;
    },
};

export function jwtPayload(token) {
    try {
        const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        return JSON.parse(atob(part + '='.repeat((4 - part.length % 4) % 4)));
    } catch { return null; }
}

// api('GET', '/api/collections', {query}) -> parsed JSON (null for 204).
// body: an object (JSON) or FormData (multipart).
export async function api(method, path, { body, query, noAuth } = {}) {
    let url = path;
    if (query) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
        const s = q.toString();
        if (s) url += '?' + s;
    }
    const headers = {};
    if (auth.token && !noAuth) headers.Authorization = auth.token;
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
    }
    const res = await fetch(url, { method, headers, body: payload });
    if (res.status === 204) return null;
    let data = null;
    const text = await res.text();
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (!res.ok) {
        if (res.status === 401 && !noAuth && auth.token) {
            auth.clear();
            location.hash = '#/login';
        }
        throw new ApiError(res.status, data);
    }
    return data;
}

export const enc = encodeURIComponent;

// Collections are read often (sidebar, relation pickers): cached until a change.
let collectionsCache = null;
export async function collections(force = false) {
    if (!collectionsCache || force) {
        const r = await api('GET', '/api/collections', { query: { perPage: 500, sort: 'name' } });
        collectionsCache = r.items;
    }
    return collectionsCache;
}
export function forgetCollections() { collectionsCache = null; }

// The dashboard's own options in the settings (meta.accentColor,
// meta.hideControls), read once a session and kept current by the Settings
// screen; {} when the settings cannot be read.
let metaCache = null;
export async function uiMeta() {
    if (!metaCache) {
        try { metaCache = (await api('GET', '/api/settings')).meta || {}; } catch { return {}; }
    }
    return metaCache;
}
export function setUiMeta(meta) { metaCache = meta || null; }

export function fileUrl(record, name, thumb) {
    let u = `/api/files/${enc(record.collectionId)}/${enc(record.id)}/${enc(name)}`;
    if (thumb) u += '?thumb=' + enc(thumb);
    return u;
}

// One EventSource for the page; topics -> callbacks. subscribe() returns an
// unsubscribe function. A reconnect gets a new client id and resends the list.
class Realtime {
    constructor() { this.subs = new Map(); this.es = null; this.clientId = ''; this.inFlight = null; }
    subscribe(topic, cb) {
        if (!this.subs.has(topic)) this.subs.set(topic, new Set());
        this.subs.get(topic).add(cb);
        this.ensure();
        this.listen(topic);
        this.post();
        return () => {
            const s = this.subs.get(topic);
            if (!s) return;
            s.delete(cb);
            if (!s.size) this.subs.delete(topic);
            if (!this.subs.size) this.close();
            else this.post();
        };
    }
    listen(topic) {
        const es = this.es;
        if (!es || es._topics.has(topic)) return;
        es._topics.add(topic);
        es.addEventListener(topic, (e) => {
            if (this.es !== es) return; // a connection being closed
            let msg;
            try { msg = JSON.parse(e.data); } catch { return; }
            for (const cb of this.subs.get(topic) || []) cb(msg);
        });
    }
    ensure() {
        if (this.es) return;
        const es = new EventSource('/api/realtime');
        es._topics = new Set();
        this.es = es;
        es.addEventListener('PB_CONNECT', (e) => {
            if (this.es !== es) return;
            this.clientId = e.lastEventId || JSON.parse(e.data).clientId;
            this.post();
        });
        // EventSource reconnects by itself; the server then sends a new PB_CONNECT.
        for (const t of this.subs.keys()) this.listen(t);
    }
    async post() {
        const id = this.clientId;
        if (!id) return;
        const sent = api('POST', '/api/realtime', { body: { clientId: id, subscriptions: [...this.subs.keys()] } });
        this.inFlight = Promise.allSettled([this.inFlight, sent]);
        try {
            await sent;
        } catch (e) {
            // stale id: wait for the next PB_CONNECT (unless a newer one came meanwhile)
            if (e.status === 404 && this.clientId === id) this.clientId = '';
        }
    }
    // The connection closes once the subscriptions posted on it are answered:
    // closed first, the server would forget the client and answer them 404.
    close() {
        const es = this.es;
        this.es = null;
        this.clientId = '';
        if (es) Promise.resolve(this.inFlight).finally(() => es.close());
    }
}
export const realtime = new Realtime();
