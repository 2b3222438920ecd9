// login.js -- sign-in for _superusers: password, or a one-time password by
// mail when the collection has OTP enabled (auth-methods says which). With
// MFA on, the first method answers 401 {mfaId}: the other one finishes the
// sign-in, sent with that mfaId.
import { h, field, setError } from './dom.js';
import { api, auth } from './api.js';

const SU = '/api/collections/_superusers';

export function loginScreen(done) {
    const box = h('div', { class: 'login' });
    const formError = h('p', { class: 'err', role: 'alert', hidden: true });
    const email = field('Email', h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }));
    const password = field('Password', h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
    const otpBtn = h('button', { type: 'button', hidden: true, onclick: () => otpFlow() }, 'Email me a one-time password');
    const fail = (msg) => setError(null, formError, msg);
    let mfaId = ''; // set once a first factor succeeded
    let hasOtp = false;
    const withMfa = (body) => (mfaId ? { ...body, mfaId } : body);

    const form = h('form', {
        class: 'card', noValidate: true,
        onsubmit: async (e) => {
            e.preventDefault();
            fail('');
            submit.disabled = true;
            try {
                const r = await api('POST', SU + '/auth-with-password',
                    { body: withMfa({ identity: email.input.value, password: password.input.value }), noAuth: true });
                auth.save(r.token, r.record);
                done();
            } catch (err) {
                if (err.status === 401 && err.mfaId) {
                    mfaId = err.mfaId;
                    if (hasOtp) { otpFlow('Password accepted: now the one-time password we mailed you.'); return; }
                    fail('MFA is on but no second sign-in method is available here.');
                    return;
                }
                fail(err.message);
                password.input.focus();
            } finally { submit.disabled = false; }
        },
    }, h('h1', {}, 'Sign in'), h('p', { class: 'muted' }, 'tarmac superuser'), email.wrap, password.wrap, formError,
    h('div', { class: 'actions' }, otpBtn, submit));

    async function otpFlow(intro) {
        fail('');
        if (!email.input.value) { email.setError('Enter your email first.'); email.input.focus(); return; }
        email.setError('');
        let otpId;
        try {
            otpId = (await api('POST', SU + '/request-otp', { body: { email: email.input.value }, noAuth: true })).otpId;
        } catch (err) { fail(err.message); return; }
        const code = field('One-time password', h('input', { type: 'text', inputMode: 'numeric', autocomplete: 'one-time-code', required: true }),
            (intro ? intro + ' ' : '') + 'Sent to ' + email.input.value + '.');
        const err2 = h('p', { class: 'err', role: 'alert', hidden: true });
        const f2 = h('form', {
            class: 'card', onsubmit: async (e) => {
                e.preventDefault();
                try {
                    const r = await api('POST', SU + '/auth-with-otp', { body: withMfa({ otpId, password: code.input.value }), noAuth: true });
                    auth.save(r.token, r.record);
                    done();
                } catch (er) {
                    if (er.status === 401 && er.mfaId) {
                        mfaId = er.mfaId; // the code was the first factor: the password finishes
                        f2.replaceWith(form);
                        fail('Code accepted: now your password.');
                        password.input.focus();
                        return;
                    }
                    setError(code.input, err2, er.message);
                }
            },
        }, h('h1', {}, 'Check your mail'), code.wrap, err2,
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { f2.replaceWith(form); } }, 'Back'),
            h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
        form.replaceWith(f2);
        code.input.focus();
    }

    box.append(form);
    api('GET', SU + '/auth-methods', { noAuth: true }).then((m) => {
        if (m?.otp?.enabled) { otpBtn.hidden = false; hasOtp = true; }
        if (m?.password && !m.password.enabled) { password.wrap.hidden = true; submit.hidden = true; }
    }).catch(() => { /* password sign-in still works */ });
    queueMicrotask(() => email.input.focus());
    return box;
}
