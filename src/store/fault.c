/* fault.c -- see fault.h. The VFS forwards every call to the default VFS;
 * its files are the default VFS's files with a header in front (szOsFile is
 * ours plus theirs), and their methods forward too, except that xRead, xWrite
 * and xSync ask should_fail() first. The plan lives in atomics: the writer
 * thread reads it while a test thread arms it. */
#include "store/fault.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>
#include <uv.h>

#include "base/fault.h"

#define FAULT_VFS_NAME "tarmac-fault"

struct fault_file {
    sqlite3_file base; /* pMethods = &fault_methods */
    sqlite3_file *real;
};

static sqlite3_vfs fault_vfs;
static sqlite3_io_methods fault_methods;
static uv_once_t install_once = UV_ONCE_INIT;
static atomic_bool is_installed;

static atomic_uint plan_ops;
static atomic_uint_fast64_t plan_nth;
static atomic_uint_fast32_t plan_rate_ppm;
static atomic_uint_fast64_t plan_seed;
static atomic_uint_fast64_t calls;
static atomic_uint_fast64_t fired;

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull; /* splitmix64's finaliser */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static bool should_fail(unsigned op)
{
    if (!(atomic_load(&plan_ops) & op))
        return false;
    uint64_t n = atomic_fetch_add(&calls, 1) + 1;
    uint64_t nth = atomic_load(&plan_nth);
    uint32_t rate = (uint32_t)atomic_load(&plan_rate_ppm);
    bool fail =
        (nth && n == nth) || (rate && mix64(atomic_load(&plan_seed) ^ mix64(n)) % 1000000 < rate);
    if (fail)
        atomic_fetch_add(&fired, 1);
    return fail;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct fault_file *)f)->real;
}

static int f_close(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    if (should_fail(STORE_FAULT_READ))
        return SQLITE_IOERR_READ;
    sqlite3_file *r = real_of(f);
    return r->pMethods->xRead(r, p, n, off);
}

static int f_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    if (fault_hit(FAULT_WRITE) || should_fail(STORE_FAULT_WRITE))
        return SQLITE_IOERR_WRITE;
    sqlite3_file *r = real_of(f);
    return r->pMethods->xWrite(r, p, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xTruncate(r, size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (fault_hit(FAULT_SYNC) || should_fail(STORE_FAULT_SYNC))
        return SQLITE_IOERR_FSYNC;
    sqlite3_file *r = real_of(f);
    return r->pMethods->xSync(r, flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xFileSize(r, size);
}

static int f_lock(sqlite3_file *f, int level)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xLock(r, level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xUnlock(r, level);
}

static int f_check_reserved_lock(sqlite3_file *f, int *out)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xCheckReservedLock(r, out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xFileControl(r, op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xSectorSize(r);
}

static int f_device_characteristics(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xDeviceCharacteristics(r);
}

static int f_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xShmMap(r, page, size, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xShmLock(r, offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    r->pMethods->xShmBarrier(r);
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods->xShmUnmap(r, delete_flag);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    /* Memory-mapped reads would bypass xRead: refuse them, SQLite falls back. */
    (void)f;
    (void)off;
    (void)n;
    *out = NULL;
    return SQLITE_OK;
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    (void)f;
    (void)off;
    (void)p;
    return SQLITE_OK;
}

static sqlite3_io_methods fault_methods = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_file_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_reserved_lock,
    .xFileControl = f_file_control,
    .xSectorSize = f_sector_size,
    .xDeviceCharacteristics = f_device_characteristics,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

static sqlite3_vfs *real_vfs(void)
{
    return fault_vfs.pAppData;
}

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                  int *out_flags)
{
    (void)vfs;
    struct fault_file *ff = (struct fault_file *)f;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = real_vfs()->xOpen(real_vfs(), name, ff->real, flags, out_flags);
    /* xClose runs after a failed open only when pMethods is set (sqlite3_io_methods). */
    ff->base.pMethods = ff->real->pMethods ? &fault_methods : NULL;
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs()->xDelete(real_vfs(), name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs()->xAccess(real_vfs(), name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs()->xFullPathname(real_vfs(), name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs()->xDlOpen(real_vfs(), name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    real_vfs()->xDlError(real_vfs(), n, out);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real_vfs()->xDlSym(real_vfs(), h, sym);
}

static void v_dl_close(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real_vfs()->xDlClose(real_vfs(), h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs()->xRandomness(real_vfs(), n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs()->xSleep(real_vfs(), us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs()->xCurrentTime(real_vfs(), out);
}

static int v_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs()->xGetLastError(real_vfs(), n, out);
}

static int v_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static void install(void)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real || real->iVersion < 2)
        return;
    fault_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(struct fault_file) + real->szOsFile,
        .mxPathname = real->mxPathname,
        .zName = FAULT_VFS_NAME,
        .pAppData = real,
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dl_open,
        .xDlError = v_dl_error,
        .xDlSym = v_dl_sym,
        .xDlClose = v_dl_close,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_get_last_error,
        .xCurrentTimeInt64 = v_current_time_int64,
    };
    if (sqlite3_vfs_register(&fault_vfs, 0) == SQLITE_OK)
        atomic_store(&is_installed, true);
}

enum rc store_fault_install(void)
{
    uv_once(&install_once, install);
    return atomic_load(&is_installed) ? RC_OK : RC_INTERNAL;
}

bool store_fault_is_installed(void)
{
    return atomic_load(&is_installed);
}

const char *store_fault_vfs_name(void)
{
#ifdef TARMAC_FAULTS
    (void)store_fault_install(); /* base/fault.h's write and sync points live here */
#endif
    return atomic_load(&is_installed) ? FAULT_VFS_NAME : NULL;
}

void store_fault_arm(const struct store_fault_plan *plan)
{
    atomic_store(&plan_ops, 0u);
    atomic_store(&plan_nth, plan->nth);
    atomic_store(&plan_rate_ppm, plan->rate_ppm);
    atomic_store(&plan_seed, plan->seed);
    atomic_store(&calls, 0);
    atomic_store(&fired, 0);
    atomic_store(&plan_ops, plan->ops);
}

uint64_t store_fault_disarm(void)
{
    atomic_store(&plan_ops, 0u);
    return atomic_load(&fired);
}

uint64_t store_fault_fired(void)
{
    return atomic_load(&fired);
}

/* "0.03" -> 30000 parts per million; at most six decimals, at most 1. */
static bool parse_rate(struct str s, uint32_t *out)
{
    uint64_t ppm = 0;
    size_t i = 0;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && ppm <= 1000000)
        ppm = ppm * 10 + (uint64_t)(s.ptr[i++] - '0');
    if (i == 0)
        return false;
    ppm *= 1000000;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        uint64_t scale = 100000;
        for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && scale; i++, scale /= 10)
            ppm += (uint64_t)(s.ptr[i] - '0') * scale;
    }
    if (i != s.len || ppm > 1000000)
        return false;
    *out = (uint32_t)ppm;
    return true;
}

static bool parse_ops(struct str s, unsigned *out)
{
    unsigned ops = 0;
    for (size_t i = 0; i < s.len; i++) {
        switch (s.ptr[i]) {
        case 'r': ops |= STORE_FAULT_READ; break;
        case 'w': ops |= STORE_FAULT_WRITE; break;
        case 's': ops |= STORE_FAULT_SYNC; break;
        default: return false;
        }
    }
    *out = ops;
    return ops != 0;
}

enum rc store_fault_parse(struct str spec, struct store_fault_plan *out)
{
    struct store_fault_plan p = {.ops = STORE_FAULT_READ | STORE_FAULT_WRITE, .seed = 1};
    size_t i = 0;
    for (;;) {
        size_t end = i;
        while (end < spec.len && spec.ptr[end] != ',')
            end++;
        struct str item = {spec.ptr + i, end - i};
        const char *eq = memchr(item.ptr, '=', item.len);
        if (!eq)
            return RC_INVALID;
        struct str key = {item.ptr, (size_t)(eq - item.ptr)};
        struct str val = {eq + 1, item.len - key.len - 1};
        bool ok;
        if (str_eq(key, STR_LIT("rate")))
            ok = parse_rate(val, &p.rate_ppm);
        else if (str_eq(key, STR_LIT("nth")))
            ok = str_to_u64(val, &p.nth);
        else if (str_eq(key, STR_LIT("seed")))
            ok = str_to_u64(val, &p.seed);
        else if (str_eq(key, STR_LIT("ops")))
            ok = parse_ops(val, &p.ops);
        else
            ok = false;
        if (!ok)
            return RC_INVALID;
        if (end == spec.len)
            break;
        i = end + 1;
    }
    if (!p.rate_ppm && !p.nth)
        return RC_INVALID;
    *out = p;
    return RC_OK;
}
