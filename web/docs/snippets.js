// snippets.js -- example values and SDK calls for one operation of the
// OpenAPI document: the official JS SDK (pocketbase on npm) and Dart SDK
// (pocketbase on pub.dev). An operation is known by its operationId: a
// collection's are "<name>_<action>" ("posts_list", "any-collection_view"),
// the fixed routes' are their own ("health", "collections_list", "batch").

// A value of JSON Schema s to start a request body from (refs already
// resolved by resolve()): read-only keys and file fields are left out.
export function example(s, resolve, depth = 0) {
    s = resolve(s);
    if (s.anyOf) return example(s.anyOf.find((a) => a.const === undefined) || s.anyOf[0], resolve, depth);
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum.find((v) => v !== '') ?? s.enum[0];
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    if (type === 'object') {
        if (!s.properties || depth > 2) return {};
        const out = {};
        for (const [k, p] of Object.entries(s.properties)) {
            const r = resolve(p);
            if (r.readOnly || r.format === 'binary' || (r.items && resolve(r.items).format === 'binary')) continue;
            out[k] = example(r, resolve, depth + 1);
        }
        return out;
    }
    if (type === 'array') return [];
    if (type === 'integer' || type === 'number') return s.minimum > 0 ? s.minimum : 0;
    if (type === 'boolean') return false;
    if (type === 'string') {
        if (s.format === 'email') return 'someone@example.com';
        if (s.format === 'uri') return 'https://example.com';
        return '';
    }
    return null;
}

function dartValue(v, indent = '') {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return "'" + v.replace(/[\\'$]/g, (c) => '\\' + c).replace(/\n/g, '\\n') + "'";
    if (typeof v !== 'object') return String(v);
    const inner = indent + '  ';
    if (Array.isArray(v)) {
        return v.length ? '[' + v.map((x) => dartValue(x, inner)).join(', ') + ']' : '[]';
    }
    const keys = Object.keys(v);
    if (!keys.length) return '{}';
    return '{\n' + keys.map((k) => `${inner}${dartValue(k)}: ${dartValue(v[k], inner)},`).join('\n') + `\n${indent}}`;
}

const q = (s) => "'" + String(s).replace(/[\\']/g, (c) => '\\' + c) + "'";

// {js, dart} for operation id on collection name (a record route), with body
// (an example value) for writes; null when no SDK call fits (the docs
// themselves, the WebSocket protocol).
export function snippets(id, name, body) {
    const cut = id.lastIndexOf('_');
    const action = cut > 0 ? id.slice(cut + 1) : id;
    const fixed = FIXED[id];
    if (fixed) return fixed(name, body);
    const c = `pb.collection(${q(name)})`;
    const js = JSON.stringify(body ?? {}, null, 2);
    const dart = dartValue(body ?? {});
    const both = (j, d) => ({ js: j, dart: d });
    switch (action) {
    case 'list': return both(`const result = await ${c}.getList(1, 30, {\n  filter: '',\n  sort: '-created',\n});`,
        `final result = await ${c}.getList(\n  page: 1,\n  perPage: 30,\n  filter: '',\n  sort: '-created',\n);`);
    case 'view': return both(`const record = await ${c}.getOne('RECORD_ID');`, `final record = await ${c}.getOne('RECORD_ID');`);
    case 'create': return both(`const record = await ${c}.create(${js});`, `final record = await ${c}.create(body: ${dart});`);
    case 'update': return both(`const record = await ${c}.update('RECORD_ID', ${js});`, `final record = await ${c}.update('RECORD_ID', body: ${dart});`);
    case 'delete': return both(`await ${c}.delete('RECORD_ID');`, `await ${c}.delete('RECORD_ID');`);
    case 'authWithPassword': return both(`const auth = await ${c}.authWithPassword('EMAIL', 'PASSWORD');`, `final auth = await ${c}.authWithPassword('EMAIL', 'PASSWORD');`);
    case 'authRefresh': return both(`const auth = await ${c}.authRefresh();`, `final auth = await ${c}.authRefresh();`);
    case 'requestOtp': return both(`const { otpId } = await ${c}.requestOTP('EMAIL');`, `final otp = await ${c}.requestOTP('EMAIL');`);
    case 'authWithOtp': return both(`const auth = await ${c}.authWithOTP(otpId, 'CODE_FROM_THE_MAIL');`, `final auth = await ${c}.authWithOTP(otp.otpId, 'CODE_FROM_THE_MAIL');`);
    case 'authMethods': return both(`const methods = await ${c}.listAuthMethods();`, `final methods = await ${c}.listAuthMethods();`);
    case 'impersonate': return both(`const client = await ${c}.impersonate('RECORD_ID', 3600);`, `final client = await ${c}.impersonate('RECORD_ID', 3600);`);
    case 'confirmPasswordReset': return same(`await ${c}.confirmPasswordReset('TOKEN', 'NEW_PASSWORD', 'NEW_PASSWORD');`);
    case 'confirmEmailChange': return same(`await ${c}.confirmEmailChange('TOKEN', 'PASSWORD');`);
    case 'requestVerification':
    case 'requestPasswordReset': return same(`await ${c}.${action}('EMAIL');`);
    case 'requestEmailChange': return same(`await ${c}.requestEmailChange('NEW_EMAIL');`);
    case 'confirmVerification': return same(`await ${c}.confirmVerification('TOKEN');`);
    default: return null;
    }
}

function same(line) {
    return { js: line, dart: line };
}

const FIXED = {
    health: () => ({ js: 'const health = await pb.health.check();', dart: 'final health = await pb.health.check();' }),
    collections_list: () => ({ js: 'const result = await pb.collections.getList(1, 30);', dart: 'final result = await pb.collections.getList(page: 1, perPage: 30);' }),
    collections_create: () => ({
        js: "const collection = await pb.collections.create({\n  name: 'posts',\n  type: 'base',\n  fields: [{ name: 'title', type: 'text' }],\n});",
        dart: "final collection = await pb.collections.create(body: {\n  'name': 'posts',\n  'type': 'base',\n  'fields': [{'name': 'title', 'type': 'text'}],\n});",
    }),
    collections_view: (n) => same(`await pb.collections.getOne(${q(n)});`),
    collections_update: (n) => ({ js: `await pb.collections.update(${q(n)}, { listRule: '' });`, dart: `await pb.collections.update(${q(n)}, body: {'listRule': ''});` }),
    collections_delete: (n) => same(`await pb.collections.delete(${q(n)});`),
    collections_truncate: (n) => same(`await pb.collections.truncate(${q(n)});`),
    collections_import: () => ({ js: 'await pb.collections.import(collections, false);', dart: 'await pb.collections.import(collections, deleteMissing: false);' }),
    collections_scaffolds: () => ({ js: 'const scaffolds = await pb.collections.getScaffolds();', dart: 'final scaffolds = await pb.collections.getScaffolds();' }),
    batch: (n) => ({
        js: `const batch = pb.createBatch();\nbatch.collection(${q(n)}).create({ /* fields */ });\nbatch.collection(${q(n)}).delete('RECORD_ID');\nconst results = await batch.send();`,
        dart: `final batch = pb.createBatch();\nbatch.collection(${q(n)}).create(body: {/* fields */});\nbatch.collection(${q(n)}).delete('RECORD_ID');\nfinal results = await batch.send();`,
    }),
    realtime_connect: (n) => FIXED.realtime_subscribe(n),
    realtime_subscribe: (n) => ({
        js: `const unsubscribe = await pb.collection(${q(n)}).subscribe('*', (e) => {\n  console.log(e.action, e.record);\n});`,
        dart: `final unsubscribe = await pb.collection(${q(n)}).subscribe('*', (e) {\n  print('\${e.action} \${e.record}');\n});`,
    }),
    files_download: () => ({
        js: "const url = pb.files.getURL(record, record.FIELD, { thumb: '100x100' });",
        dart: "final url = pb.files.getURL(record, record.getStringValue('FIELD'), thumb: '100x100');",
    }),
    files_token: () => ({ js: 'const fileToken = await pb.files.getToken();', dart: 'final fileToken = await pb.files.getToken();' }),
};
