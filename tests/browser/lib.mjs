// What the browser suites (dashboard.test.mjs, settings.test.mjs,
// docs.test.mjs) share: the chromium to drive, the watch on console errors
// and CSP violations, the accessibility check, screenshots, a raw GET that
// keeps compressed bytes and a JSON call with a token.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = resolve(here, '..', '..', 'docs', 'dashboard');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Debian's chromium, headless. Never a skip: a page nobody ran is not a
// tested page, so a chromium that cannot start throws.
export async function launchChromium() {
    try {
        return await chromium.launch({
            executablePath: CHROMIUM,
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--no-first-run'],
        });
    } catch (e) {
        throw new Error(`chromium at ${CHROMIUM} cannot run: ${e.message}`);
    }
}

// Fails on any serious or critical axe-core violation on page p.
export async function axe(p, what) {
    const r = await new AxeBuilder({ page: p }).analyze();
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
        `accessibility violations on ${what}`);
}

// A screenshot to docs/dashboard/<name>.jpg (TARMAC_SHOTS=0 skips).
export async function shot(p, name, opts = {}) {
    if (process.env.TARMAC_SHOTS === '0') return;
    mkdirSync(SHOTS, { recursive: true });
    await p.screenshot({ path: join(SHOTS, name + '.jpg'), type: 'jpeg', quality: 70, ...opts });
}

// A raw GET that keeps the compressed bytes: {status, headers, body}.
export function rawGet(url, headers = {}) {
    return new Promise((res, rej) => {
        get(url, { headers }, (r) => {
            const chunks = [];
            r.on('data', (c) => chunks.push(c));
            r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
        }).on('error', rej);
    });
}

// method path on base with Authorization: token and an optional JSON body;
// the parsed answer, or null for an empty one. Throws on a non-2xx answer.
export async function apiCall(base, token, method, path, body) {
    const res = await fetch(base + path, {
        method, headers: { Authorization: token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
}

// Watches pages for console errors, uncaught exceptions and CSP violations:
// watch(page, label) adds to problems. Chromium logs every non-2xx fetch as
// a console error; the 400s a test causes on purpose (a wrong password, a bad
// filter, a value the server refuses) go to allowed400 for the test to count.
export function pageWatcher() {
    const problems = [], allowed400 = [];
    const watch = (p, label) => {
        p.on('console', (m) => {
            if (m.type() !== 'error' && !/Content.Security.Policy/i.test(m.text())) return;
            const text = m.text();
            if (/Failed to load resource: the server responded with a status of 400/.test(text)) {
                allowed400.push(`${label}: ${text}`);
                return;
            }
            // a failed load's message names no URL; its location does
            const at = /Failed to load resource/.test(text) && m.location()?.url;
            problems.push(`${label} console ${m.type()}: ${text}${at ? ` (${at})` : ''}`);
        });
        p.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
    };
    return { problems, allowed400, watch };
}

// CSP violations are reported to the page too: keep them where the test reads them.
export async function cspInit(ctx) {
    await ctx.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
    });
}

export async function cspViolations(p) {
    return p.evaluate(() => window.__csp || []);
}
