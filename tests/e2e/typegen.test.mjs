// `tarmac gen types` (issue #14): TypeScript for the JS SDK must compile with
// `tsc --strict` against a script that uses the SDK (and must reject what the
// schema forbids), the Dart for the Dart SDK must parse with tree-sitter-dart
// (no Dart SDK is packaged here); both are compared with reviewed golden
// files, one collection holding every field type. The same text is served at
// GET /api/docs/types?lang=.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { startServer, BIN, dbFlags } from './lib/server.mjs';
import { superuserClient, rawFetch } from './lib/util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const GOLDEN = join(here, 'golden');

const FIELDS = [
    { name: 'title', type: 'text', required: true, max: 100 },
    { name: 'count', type: 'number', onlyInt: true },
    { name: 'flag', type: 'bool' },
    { name: 'mail', type: 'email' },
    { name: 'site', type: 'url' },
    { name: 'body', type: 'editor' },
    { name: 'due', type: 'date' },
    { name: 'created_at', type: 'autodate', onCreate: true },
    { name: 'tags', type: 'select', values: ['a', 'b-c', '9lives', 'class'], maxSelect: 4 },
    { name: 'kind', type: 'select', values: ['x', 'y'], maxSelect: 1 },
    { name: 'meta', type: 'json' },
    { name: 'files', type: 'file', maxSelect: 3 },
    { name: 'doc', type: 'file', maxSelect: 1 },
    { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 1 },
    { name: 'readers', type: 'relation', collectionId: '_pb_users_auth_', maxSelect: 5 },
    { name: 'pin', type: 'password' },
    { name: 'where', type: 'geoPoint' },
    { name: 'note', type: 'text', hidden: true },
];

function gen(dir, lang) {
    return execFileSync(BIN, ['gen', 'types', `--lang=${lang}`, `--dir=${dir}`, ...dbFlags(dir)], { encoding: 'utf8' });
}

function golden(name, text) {
    const file = join(GOLDEN, name);
    if (process.env.TARMAC_UPDATE_GOLDEN === '1') writeFileSync(file, text);
    assert.ok(existsSync(file), `missing golden file ${file} (TARMAC_UPDATE_GOLDEN=1 writes it)`);
    const want = readFileSync(file, 'utf8');
    assert.equal(text, want, `${name} differs from the reviewed golden file`);
}

describe('typed models', () => {
    let srv;
    let su;

    before(async () => {
        srv = await startServer();
        su = await superuserClient(srv.url);
        await su.collections.create({ name: 'every_type', listRule: '', viewRule: '', fields: FIELDS });
        await su.collections.create({
            name: 'members', type: 'auth', fields: [{ name: 'nick', type: 'text' }],
        });
        // Search and a vector field: the members a list adds (@snippet,
        // @distance, @score); a field named like one moves it aside.
        await su.collections.create({
            name: 'articles', listRule: '', viewRule: '',
            fields: [{ name: 'title', type: 'text' }, { name: 'score', type: 'number' },
                { name: 'emb', type: 'vector', dimensions: 3 }],
            search: { fields: [{ name: 'title' }] },
        });
        // A view: read-only models (no Create type, no toJson).
        await su.collections.create({
            name: 'type_stats', type: 'view', listRule: '', viewRule: '',
            viewQuery: 'SELECT id, title, count AS n, tags, owner, count(readers) AS c FROM every_type GROUP BY id',
        });
    });
    after(async () => {
        if (srv && !srv.exited) await srv.kill9();
    });

    test('TypeScript compiles with tsc --strict against the SDK, and refuses what the schema forbids', () => {
        const ts = gen(srv.dir, 'ts');
        golden('types.ts', ts);
        const dir = mkdtempSync(join(here, '.typegen-'));
        try {
            writeFileSync(join(dir, 'types.ts'), ts);
            // The view's part.
            const viewUse = `
    const v: TypeStatsRecord = await pb.collection('type_stats').getOne('abc');
    const vn: number = v.n;
    const vc: number = v.c;
    const vtags: TypeStatsTagsOptions[] = v.tags;
    const vowner: string = v.owner;
    // @ts-expect-error: a view collection takes no input
    type NoInput = import('./types').TypeStatsCreate;
    void [vn, vc, vtags, vowner];`;
            writeFileSync(join(dir, 'use.ts'), `
import PocketBase from 'pocketbase';
import { Collections, EveryTypeKindOptions, EveryTypeTagsOptions, TypeStatsTagsOptions } from './types';
import type { TypedPocketBase, EveryTypeCreate, EveryTypeRecord, MembersRecord, TypeStatsRecord } from './types';

export async function use(): Promise<void> {
    const pb = new PocketBase('http://127.0.0.1:8090') as TypedPocketBase;
    const r: EveryTypeRecord = await pb.collection('every_type').getOne('abc');
    const title: string = r.title;
    const count: number = r.count;
    const tags: EveryTypeTagsOptions[] = r.tags;
    const kind: EveryTypeKindOptions | '' = r.kind;
    const files: string[] = r.files;
    const doc: string = r.doc;
    const owner: string = r.owner;
    const readers: string[] = r.readers;
    const lon: number = r.where.lon;
    const note: string | undefined = r.note;
    const page = await pb.collection('every_type').getList(1, 10, { filter: 'count > 1' });
    const first: string | undefined = page.items[0]?.title;
    const m: MembersRecord = await pb.collection('members').getOne('x');
    const verified: boolean = m.verified;
    const nick: string = m.nick;
    const name: Collections = Collections.EveryType;
    const input: EveryTypeCreate = { title: 'x', tags: [EveryTypeTagsOptions['b-c']], pin: 'secret' };
    await pb.collection('every_type').create(input);
    // @ts-expect-error: no such field
    r.nope;
    // @ts-expect-error: a title is a string
    const wrong: number = r.title;
    // @ts-expect-error: a password is never in a record
    r.pin;
    // @ts-expect-error: title is required on create
    const missing: EveryTypeCreate = { count: 1 };${viewUse}
    void [title, count, tags, kind, files, doc, owner, readers, lon, note, first, verified, nick, name, wrong, missing];
}
`);
            writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
                compilerOptions: {
                    strict: true, noEmit: true, target: 'es2022', module: 'es2022',
                    moduleResolution: 'bundler', skipLibCheck: true, noUnusedLocals: false,
                    typeRoots: [], types: [],
                },
                files: ['use.ts', 'types.ts'],
            }));
            const tsc = join(here, 'node_modules', '.bin', 'tsc');
            const r = spawnSync(tsc, ['-p', dir], { encoding: 'utf8', cwd: dir });
            assert.equal(r.status, 0, `tsc --strict failed:\n${r.stdout}${r.stderr}`);
            // And it does fail on a real type error (the check can fail).
            writeFileSync(join(dir, 'use.ts'), readFileSync(join(dir, 'use.ts'), 'utf8')
                .replace("// @ts-expect-error: no such field\n", ''));
            const r2 = spawnSync(tsc, ['-p', dir], { encoding: 'utf8', cwd: dir });
            assert.notEqual(r2.status, 0, 'tsc accepted r.nope');
            assert.match(r2.stdout, /nope/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test('Dart parses with tree-sitter-dart and matches the reviewed golden file', () => {
        const dart = gen(srv.dir, 'dart');
        golden('types.dart', dart);
        const Parser = require('tree-sitter');
        const Dart = require('tree-sitter-dart');
        const parser = new Parser();
        parser.setLanguage(Dart);
        const tree = parser.parse(dart);
        const errors = [];
        const walk = (n) => {
            if (n.type === 'ERROR' || n.isMissing()) errors.push(`${n.type} at ${n.startPosition.row + 1}:${n.startPosition.column + 1}`);
            for (const c of n.children) walk(c);
        };
        walk(tree.rootNode);
        assert.deepEqual(errors, [], dart.split('\n').slice(0, 5).join('\n'));
        assert.equal(parser.parse('class A { final String x = ; }').rootNode.hasError(), true, 'the parser does find errors');
        for (const want of ['class EveryTypeRecord', 'final num count;', 'final List<EveryTypeTags> tags;',
            'final EveryTypeKind? kind;', 'final List<String> files;', 'final String doc;', 'final GeoPoint where;',
            'factory EveryTypeRecord.fromRecord(RecordModel r)', "String fileUrl(String filename)", 'class MembersRecord']) {
            assert.ok(dart.includes(want), want);
        }
        assert.ok(!/\bpin\b/.test(dart), 'a password is never in a model');
        const articles = dart.slice(dart.indexOf('class ArticlesRecord'));
        for (const want of ['final SearchSnippet? searchSnippet;', 'final double? distance;', 'final double? $score;',
            'final num score;', "searchSnippet: SearchSnippet.fromJson(r.data['@snippet']),",
            "distance: (r.data['@distance'] as num?)?.toDouble(),", "$score: (r.data['@score'] as num?)?.toDouble(),"]) {
            assert.ok(articles.includes(want), want);
        }
        assert.ok(!dart.slice(dart.indexOf('class EveryTypeRecord'), dart.indexOf('class ArticlesRecord'))
            .includes('@distance'), 'no vector field, no distance');
        const view = dart.slice(dart.indexOf('class TypeStatsRecord'));
        assert.ok(view.includes('final num n;') && view.includes('final List<TypeStatsTags> tags;'), view.slice(0, 400));
        assert.ok(!view.slice(0, view.indexOf('\n}\n')).includes('toJson'), 'a view record is not sent');
    });

    test('tarmac gen types refuses a bad --lang (2) and a missing data directory (1)', () => {
        let r = spawnSync(BIN, ['gen', 'types', '--lang=cobol', `--dir=${srv.dir}`], { encoding: 'utf8' });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /--lang must be ts or dart/);
        // With --db (PostgreSQL) too: the directory holds the files.
        r = spawnSync(BIN, ['gen', 'types', '--lang=ts', '--dir=/nonexistent/tarmac-data', ...dbFlags(srv.dir)],
            { encoding: 'utf8' });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /no data directory/);
        r = spawnSync(BIN, ['gen', 'stuff'], { encoding: 'utf8' });
        assert.equal(r.status, 2);
    });

    test('GET /api/docs/types?lang= serves the same text; a guest sees only listable collections', async () => {
        const su_ts = await rawFetch(`${srv.url}/api/docs/types?lang=ts`, { headers: { Authorization: su.authStore.token } });
        assert.equal(su_ts.status, 200);
        assert.equal(su_ts.text, gen(srv.dir, 'ts'));
        const guest = await rawFetch(`${srv.url}/api/docs/types?lang=dart`);
        assert.equal(guest.status, 200);
        assert.ok(guest.text.includes('class EveryTypeRecord'));
        assert.ok(!guest.text.includes('class MembersRecord'), 'members has a null listRule');
        assert.ok(!guest.text.includes(' note;'), 'hidden fields are for superusers');
        const bad = await rawFetch(`${srv.url}/api/docs/types?lang=cobol`);
        assert.equal(bad.status, 400);
    });
});
