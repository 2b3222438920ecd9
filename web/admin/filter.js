// filter.js -- checks the filter language (spec §3) as the user types a rule
// or a filter: the grammar (expr := term {&&|| term}; term := (expr) |
// operand sign operand), literals, functions, and plain field names against
// the collection's fields. It only helps: the server's answer on save or
// search is authoritative and shown where it belongs.

const SIGNS = ['?!=', '?<=', '?>=', '?!~', '!=', '<=', '>=', '!~', '?=', '?~', '?<', '?>', '=', '~', '<', '>'];
const MACROS = new Set(['@now', '@yesterday', '@tomorrow', '@todayStart', '@todayEnd', '@monthStart', '@monthEnd',
    '@yearStart', '@yearEnd', '@second', '@minute', '@hour', '@day', '@month', '@weekday', '@year']);
const FUNCS = new Set(['geoDistance', 'strftime']);
const MODIFIERS = new Set(['isset', 'changed', 'length', 'each', 'lower']);

function lex(src) {
    const toks = [];
    let i = 0;
    const err = (msg, at = i) => { throw { message: msg, offset: at }; };
    while (i < src.length) {
        const c = src[i];
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
        if (c === '/' && src[i + 1] === '/') { while (i < src.length && src[i] !== '\n') i++; continue; }
        const start = i;
        if (c === '(' || c === ')' || c === ',') { toks.push({ t: c, at: i++ }); continue; }
        if (c === '&' || c === '|') {
            if (src[i + 1] !== c) err(`Expected "${c}${c}"`);
            toks.push({ t: 'join', v: c + c, at: i }); i += 2; continue;
        }
        if (c === "'" || c === '"') {
            i++;
            while (i < src.length && src[i] !== c) i += src[i] === '\\' ? 2 : 1;
            if (i >= src.length) err('Unterminated text literal', start);
            i++;
            toks.push({ t: 'text', at: start }); continue;
        }
        if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] || ''))) {
            const m = /^-?[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
            i += m[0].length;
            if (/[A-Za-z_.]/.test(src[i] || '')) err('Invalid number', start);
            toks.push({ t: 'num', at: start }); continue;
        }
        if (/[A-Za-z_@#]/.test(c)) {
            const m = /^[A-Za-z_@#][A-Za-z0-9_.:@#]*/.exec(src.slice(i));
            const v = m[0];
            if (v.length === 1 && '@_#'.includes(v) ) err(`Invalid identifier "${v}"`, start);
            if (/[.:]$/.test(v)) err(`Identifier "${v}" must not end with "${v.slice(-1)}"`, start);
            i += v.length;
            toks.push({ t: 'id', v, at: start }); continue;
        }
        const sign = SIGNS.find((s) => src.startsWith(s, i));
        if (sign) { toks.push({ t: 'sign', v: sign, at: i }); i += sign.length; continue; }
        err(`Unexpected character "${c}"`);
    }
    return toks;
}

// Returns null when src looks valid, else {message, offset}.
// fields: the collection's field names (null: do not check names).
export function checkFilter(src, fields) {
    if (!src.trim()) return null;
    let toks;
    try { toks = lex(src); } catch (e) { return e; }
    if (!toks.length) return { message: 'Empty expression', offset: 0 };
    let p = 0;
    const names = fields ? new Set(fields) : null;
    const err = (msg, tok) => { throw { message: msg, offset: tok ? tok.at : src.length }; };
    const peek = () => toks[p];
    const checkId = (tok) => {
        const v = tok.v;
        if (v.startsWith('@')) {
            if (MACROS.has(v)) return;
            if (v === '@request.method' || v === '@request.context') return;
            if (/^@request\.(auth|body|query|headers)\.[\w.:]+$/.test(v)) return checkMods(tok, true);
            if (/^@collection\.\w+(:\w+)?\.[\w.:]+$/.test(v)) return checkMods(tok, false);
            err(`Unknown identifier "${v}"`, tok);
        }
        if (['true', 'false', 'null'].includes(v.toLowerCase()) && !(names && names.has(v))) return;
        checkMods(tok, false);
        const first = v.split(/[.:]/)[0];
        if (names && !names.has(first) && !first.includes('_via_')) err(`Unknown field "${first}"`, tok);
    };
    const checkMods = (tok, isRequest) => {
        const parts = tok.v.split(':');
        for (const m of parts.slice(1)) {
            const mod = m.split('.')[0];
            if (!MODIFIERS.has(mod) && !/^\w+$/.test(mod)) err(`Unknown modifier ":${mod}"`, tok);
            if (!MODIFIERS.has(mod) && !(tok.v.startsWith('@collection.') && parts.length > 1 && m === parts[1])) {
                err(`Unknown modifier ":${mod}"`, tok);
            }
            if ((mod === 'isset' || mod === 'changed') && !isRequest) { /* ignored by the server on plain paths */ }
        }
    };
    const operand = (depth = 0) => {
        const tok = toks[p++];
        if (!tok) err('Expected an operand at the end');
        if (tok.t === 'text' || tok.t === 'num') return;
        if (tok.t !== 'id') err(`Expected an operand, found "${tok.v || tok.t}"`, tok);
        if (peek() && peek().t === '(') {
            if (!FUNCS.has(tok.v)) err(`Unknown function "${tok.v}"`, tok);
            if (depth >= 3) err('Functions nested too deep', tok);
            p++;
            if (peek() && peek().t === ')') { p++; return; }
            for (;;) {
                operand(depth + 1);
                const n = toks[p++];
                if (!n) err('Unclosed function call');
                if (n.t === ')') return;
                if (n.t !== ',') err('Expected "," or ")"', n);
            }
        }
        checkId(tok);
    };
    const term = () => {
        const tok = peek();
        if (!tok) err('Expected an expression');
        if (tok.t === '(') {
            p++;
            expr();
            const c = toks[p++];
            if (!c || c.t !== ')') err('Missing ")"', c);
            return;
        }
        operand();
        const s = toks[p++];
        if (!s || s.t !== 'sign') err(s ? `Expected an operator such as = or ~, found "${s.v || s.t}"` : 'Expected an operator such as = or ~', s);
        operand();
    };
    const expr = () => {
        term();
        while (peek() && peek().t === 'join') { p++; term(); }
    };
    try {
        expr();
        if (p < toks.length) err(`Unexpected "${toks[p].v || toks[p].t}"`, toks[p]);
    } catch (e) {
        return e;
    }
    return null;
}
