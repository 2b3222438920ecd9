// TARMAC_E2E_CLUSTER=N (with TARMAC_TEST_ENGINE=postgresql): every server a
// test starts is N tarmac instances on one PostgreSQL database and one Redis
// (redis-server on a Unix socket in the data directory), behind nginx
// (round robin, SSE and WebSocket proxied) -- issue #16's "the whole SDK
// suite through nginx". tests/e2e/cluster/nginx.sh runs it.
//
// Instance 0 uses the test's data directory; instance i uses DIR/instance-<i>
// (inside it, so a test that removes DIR removes them too). Every instance
// has --storage-dir=DIR/storage (the shared directory uploads need), and
// instance i's backups/ is a link to DIR's (the local backups target one
// directory, as a mounted volume would make it). nginx connects from the client's own address (proxy_bind: every
// 127.x address is local), so each instance sees a test's clients as it
// would directly, with no trusted-proxy flag to change the settings. The
// object returned is startServer's: url is nginx's, directUrl instance 0's;
// stop() stops nginx, then every instance (each must exit 0), then Redis;
// stderr() is every instance's, one after another.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, upsertSuperuser, freePort, SUPERUSER, BIN, SLOW } from './server.mjs';

const COUNT = Number(process.env.TARMAC_E2E_CLUSTER || '0');

async function until(pred, what, ms) {
    const end = Date.now() + ms;
    while (!(await pred())) {
        if (Date.now() > end) throw new Error(`cluster: timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

function spawnTracked(cmd, args) {
    const proc = spawn(cmd, args, { stdio: 'ignore' });
    const exited = new Promise((res) => proc.on('exit', res));
    return {
        proc,
        async stop(signal = 'SIGTERM') {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            await exited;
        },
    };
}

function nginxConf(dir, port, upstreams) {
    const tmp = join(dir, 'nginx-tmp');
    mkdirSync(tmp, { recursive: true });
    return `user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path ${tmp}/body;
    proxy_temp_path ${tmp}/proxy;
    fastcgi_temp_path ${tmp}/fastcgi;
    uwsgi_temp_path ${tmp}/uwsgi;
    scgi_temp_path ${tmp}/scgi;
    client_max_body_size 0;
    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
    upstream tarmac {
${upstreams.map((u) => `        server ${u};`).join('\n')}
    }
    server {
        listen 127.0.0.1:${port};
        location / {
            proxy_pass http://tarmac;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_bind $remote_addr;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }
    }
}
`;
}

export async function startCluster(opts = {}) {
    let ownDir = false;
    let dir = opts.dir;
    if (!dir) {
        dir = mkdtempSync(join(tmpdir(), 'tarmac-e2e-'));
        ownDir = true;
    }
    const bin = opts.bin || BIN;
    if (ownDir || opts.superuser === true) upsertSuperuser(dir, SUPERUSER.email, SUPERUSER.password, bin);
    mkdirSync(join(dir, 'storage'), { recursive: true });
    const sock = join(dir, 'redis.sock');
    const redis = spawnTracked('redis-server', ['--port', '0', '--unixsocket', sock, '--save', '',
        '--appendonly', 'no', '--dir', dir]);
    await until(() => existsSync(sock), 'redis-server', 10000 * SLOW);
    const instances = [];
    const stopAll = async () => {
        for (const srv of instances) { try { await srv.kill9(); } catch { /* gone */ } }
        await redis.stop();
    };
    try {
        for (let i = 0; i < COUNT; i++) {
            const idir = i === 0 ? dir : join(dir, `instance-${i}`);
            if (i > 0 && !existsSync(idir)) {
                mkdirSync(idir);
                mkdirSync(join(dir, 'backups'), { recursive: true });
                symlinkSync(join(dir, 'backups'), join(idir, 'backups'));
            }
            instances.push(await startServer({
                ...opts, dir: idir, dbDir: dir, superuser: false, cluster: false, prism: false, bin,
                flags: [...(opts.flags || []), `--redis=unix://${sock}`, `--storage-dir=${join(dir, 'storage')}`],
            }));
        }
        // An instance hears the others once its subscriber is up: a change
        // made before that (the test's first collection, through another
        // instance) would reach it only by its first resync, so the test
        // starts after every instance says it hears the rest.
        for (const srv of instances) {
            await until(() => srv.stderr().includes('msg="hearing the other instances'),
                'an instance to subscribe to the others', 10000 * SLOW);
        }
    } catch (e) {
        await stopAll();
        throw e;
    }
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, instances.map((s) => new URL(s.url).host)));
    const nginx = spawnTracked('nginx', ['-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    const url = `http://127.0.0.1:${port}`;
    // Ready when it accepts (not an HTTP request: a test's rate limit would count it).
    await until(() => new Promise((res) => {
        const sock = connect(port, '127.0.0.1', () => { sock.destroy(); res(true); });
        sock.on('error', () => res(false));
    }), 'nginx', 10000 * SLOW).catch(async (e) => { await nginx.stop(); await stopAll(); throw e; });
    const first = instances[0];
    return {
        url,
        directUrl: first.url,
        port,
        dir,
        proc: first.proc,
        instances,
        stderr: () => instances.map((s) => s.stderr()).join('\n'),
        get exited() { return first.exited; },
        async stop() {
            await nginx.stop(); // fast shutdown: a graceful one waits for open streams
            const errors = [];
            for (const srv of instances) {
                try { await srv.stop(); } catch (e) { errors.push(e.message); }
            }
            await redis.stop();
            if (errors.length) throw new Error(errors.join('\n'));
            if (ownDir && !process.env.TARMAC_E2E_KEEP) this.cleanup();
        },
        async kill9() {
            await nginx.stop(); // SIGTERM: the master takes its workers along (SIGKILL left them running)
            for (const srv of instances) await srv.kill9();
            await redis.stop();
        },
        cleanup() {
            if (process.env.TARMAC_E2E_KEEP) return;
            rmSync(dir, { recursive: true, force: true }); /* the other instances' dirs are inside */
        },
    };
}

