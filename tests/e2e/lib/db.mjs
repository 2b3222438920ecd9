// The test server's database, read and written beside the server, whatever
// the engine (TARMAC_TEST_ENGINE): SQLite's data.db in the data directory
// through python3's sqlite3, or the directory's database on the test cluster
// (lib/server.mjs dbUrl) through psql.
//
//   dbQuery(dir, 'SELECT "f" FROM "vault" WHERE id = ?', [id])   // [[value], ...]
//   dbQuery(dir, 'UPDATE vault SET f = ? WHERE id = ?', [v, id], true)
//
// A query is one statement in the SQL both engines take; ? marks each
// parameter, bound in order as text (PostgreSQL casts it to the column's
// type). SELECT gives its rows as arrays; anything else gives [].

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ENGINE, dbUrl, SLOW } from './server.mjs';

export const IS_PG = ENGINE === 'postgresql';

function sqliteQuery(dir, query, params, write) {
    const script = `
import json, sqlite3, sys
path, q, params, write = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "1"
con = sqlite3.connect(path if write else "file:%s?mode=ro" % path, uri=not write, timeout=30)
rows = con.execute(q, params).fetchall()
con.commit()
con.close()
print(json.dumps(rows))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, join(dir, 'data.db'), query,
        JSON.stringify(params), write ? '1' : '0'], { encoding: 'utf8', timeout: 30000 * SLOW });
    if (r.status !== 0) throw new Error(`sqlite: ${r.stderr || r.error}`);
    return JSON.parse(r.stdout);
}

function pgQuery(dir, query, params) {
    // psql variables quoted as literals (:'p1'): the values never enter the
    // text as written. A SELECT comes back as one JSON array of its rows.
    let n = 0;
    const text = query.replace(/\?/g, () => `:'p${++n}'`);
    if (n !== params.length) throw new Error(`${n} placeholders, ${params.length} parameters: ${query}`);
    const select = /^\s*select\b/i.test(text);
    const script = select
        ? `SELECT coalesce(json_agg(t), '[]') FROM (${text}) t;`
        : `${text};`;
    const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', dbUrl(dir)];
    params.forEach((v, i) => args.push('-v', `p${i + 1}=${v}`));
    const r = spawnSync('psql', args, { input: script, encoding: 'utf8', timeout: 30000 * SLOW });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr || r.error}`);
    return select ? JSON.parse(r.stdout).map((row) => Object.values(row)) : [];
}

/** Runs query with params on dir's database; returns the rows (arrays). */
export function dbQuery(dir, query, params = [], write = false) {
    return IS_PG ? pgQuery(dir, query, params) : sqliteQuery(dir, query, params, write);
}
