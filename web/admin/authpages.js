// authpages.js -- the pages the mails link to (src/api/auth_flows.c writes
// APP_URL/_/#/auth/ROUTE/TOKEN): confirm-verification, confirm-password-reset,
// confirm-email-change. The token names its collection (collectionId claim);
// each page calls that collection's public confirm-* endpoint. No sign-in.
import { h, field, setError } from './dom.js';
import { api, jwtPayload, enc } from './api.js';

export function authPage(kind, token) {
    const box = h('div', { class: 'login' });
    const claims = jwtPayload(token);
    const status = h('p', { role: 'status' });
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    if (!claims || !claims.collectionId) {
        box.append(h('div', { class: 'card' }, h('h1', {}, 'Invalid link'), h('p', {}, 'This link is malformed or incomplete.')));
        return box;
    }
    const base = `/api/collections/${enc(claims.collectionId)}`;
    const ok = (title, text) => {
        box.replaceChildren(h('div', { class: 'card' }, h('h1', {}, title), h('p', { role: 'status' }, text)));
    };
    const fail = (err) => {
        const first = Object.values(err.data || {})[0];
        setError(null, formError, first?.message ? `${err.message} ${first.message}` : err.message);
    };

    if (kind === 'confirm-verification') {
        const card = h('div', { class: 'card' }, h('h1', {}, 'Verify your email'), status, formError);
        box.append(card);
        status.textContent = 'Verifying…';
        api('POST', base + '/confirm-verification', { body: { token }, noAuth: true })
            .then(() => ok('Email verified', 'Thank you: your email address is verified. You can close this page.'))
            .catch((e) => { status.textContent = ''; fail(e); });
        return box;
    }
    if (kind === 'confirm-password-reset') {
        const pw = field('New password', h('input', { type: 'password', autocomplete: 'new-password', required: true, minLength: 8 }));
        const pw2 = field('Confirm new password', h('input', { type: 'password', autocomplete: 'new-password', required: true }));
        const form = h('form', {
            class: 'card', onsubmit: async (e) => {
                e.preventDefault();
                setError(null, formError, '');
                pw.setError(''); pw2.setError('');
                try {
                    await api('POST', base + '/confirm-password-reset',
                        { body: { token, password: pw.input.value, passwordConfirm: pw2.input.value }, noAuth: true });
                    ok('Password changed', 'Your password was changed. You can sign in with it now.');
                } catch (err) {
                    if (err.data.password) pw.setError(err.data.password.message);
                    if (err.data.passwordConfirm) pw2.setError(err.data.passwordConfirm.message);
                    if (!err.data.password && !err.data.passwordConfirm) fail(err);
                }
            },
        }, h('h1', {}, 'Reset your password'), claims.email ? h('p', { class: 'muted' }, 'For ' + claims.email) : null,
        pw.wrap, pw2.wrap, formError, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Set new password')));
        box.append(form);
        return box;
    }
    if (kind === 'confirm-email-change') {
        const pw = field('Your password', h('input', { type: 'password', autocomplete: 'current-password', required: true }));
        const form = h('form', {
            class: 'card', onsubmit: async (e) => {
                e.preventDefault();
                setError(null, formError, '');
                try {
                    await api('POST', base + '/confirm-email-change', { body: { token, password: pw.input.value }, noAuth: true });
                    ok('Email changed', 'Your email address was changed. Sign in with the new address.');
                } catch (err) {
                    if (err.data.password) pw.setError(err.data.password.message); else fail(err);
                }
            },
        }, h('h1', {}, 'Confirm your new email'), claims.newEmail ? h('p', { class: 'muted' }, 'New address: ' + claims.newEmail) : null,
        pw.wrap, formError, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Confirm')));
        box.append(form);
        return box;
    }
    box.append(h('div', { class: 'card' }, h('h1', {}, 'Unknown link'), h('p', {}, 'This page does not exist.')));
    return box;
}
