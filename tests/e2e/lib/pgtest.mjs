// The PostgreSQL cluster of a suite that makes databases of its own
// (cluster/, pg/dbcopy): tests/run's (TARMAC_TEST_PG), else one started here
// with tests/lib/pgcluster.sh (stopped and removed by stop()).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PGCLUSTER = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'lib', 'pgcluster.sh');

/**
 * {url, why, stop()}: url is a pgcluster.sh URL (postgresql:///tarmac?...);
 * why is non-empty when the suite must be skipped: skipWhy when given (no
 * cluster is started then), else why no cluster is usable.
 */
export function testPgCluster(prefix, skipWhy = '') {
    let dir = null;
    let url = process.env.TARMAC_TEST_PG || '';
    let why = skipWhy;
    if (!why && !url) {
        try {
            dir = mkdtempSync(join(tmpdir(), prefix));
            url = execFileSync(PGCLUSTER, ['start', dir], { encoding: 'utf8' }).trim();
        } catch (e) {
            why = `no PostgreSQL cluster (${String(e.message).split('\n')[0]})`;
            if (dir) rmSync(dir, { recursive: true, force: true });
            dir = null;
        }
    }
    if (!why && !url.includes(':///tarmac?')) why = `TARMAC_TEST_PG is not a pgcluster.sh URL: ${url}`;
    return {
        url,
        why,
        stop() {
            if (!dir) return;
            spawnSync(PGCLUSTER, ['stop', dir]);
            rmSync(dir, { recursive: true, force: true });
            dir = null;
        },
    };
}
