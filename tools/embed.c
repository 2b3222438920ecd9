/* embed.c -- turns a folder of web files (web/admin/, web/docs/) into one C
 * file at build time, as lwan's bin2hex.c does for its static pages.
 *
 *   embed OUT.c SET PREFIX DIR NAME...
 *
 * Each NAME (a file in DIR, no subfolders) becomes an entry of the set
 * api_<SET>_assets (src/api/assets.h) with its bytes, a gzip copy (zlib,
 * level 9) and a content hash. Every file but index.html is served under a
 * hashed name ("app.js" -> "app.1f2e3d4c5b.js"), so it can be cached for a
 * year: a change gives it a new name. References between files are rewritten
 * to PREFIX + that name: any quoted "./NAME" or './NAME' (an ES module import,
 * a <script src>, a <link href>) naming another input. PREFIX is "./" when
 * index.html is served at a folder's URL (/_/), the folder's absolute path
 * when it is not (/api/docs: "/api/docs/"). A file's hash covers its rewritten text,
 * so a change in a module renames every module that imports it, up to
 * index.html, which is never cached. Files are resolved depth-first; an import
 * cycle is an error (keep the module graph a tree or a DAG).
 *
 * Runs on the build machine only: plain stdio, exits 1 with a message on any
 * error, frees nothing it does not need to. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define MAX_FILES 64

struct file {
    const char *name; /* as given: "app.js" */
    char hashed[256]; /* served name: "app.1f2e3d4c5b.js" (index.html: itself) */
    char hash[17];    /* 10 hex digits of FNV-1a 64 over the rewritten bytes */
    unsigned char *data;
    size_t len;
    unsigned char *gz;
    size_t gz_len;
    int state; /* 0 new, 1 resolving, 2 done */
};

static struct file files[MAX_FILES];
static int nfiles;
static const char *prefix = "./";

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "embed: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void *must(void *p)
{
    if (!p)
        die("%s", "out of memory");
    return p;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = must(malloc(cap));
    for (;;) {
        if (n == cap)
            p = must(realloc(p, cap *= 2));
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        die("cannot read %s", path);
    fclose(f);
    *len = n;
    return p;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static struct file *find(const char *name, size_t len)
{
    for (int i = 0; i < nfiles; i++) {
        if (strlen(files[i].name) == len && memcmp(files[i].name, name, len) == 0)
            return &files[i];
    }
    return NULL;
}

static void resolve(struct file *f);

/* Rewrites every quoted "./NAME" naming another input to its hashed name. */
static void rewrite(struct file *f)
{
    size_t cap = f->len + 1024, n = 0;
    unsigned char *out = must(malloc(cap));
    size_t i = 0;
    while (i < f->len) {
        unsigned char c = f->data[i];
        if ((c == '"' || c == '\'') && i + 3 < f->len && f->data[i + 1] == '.' &&
            f->data[i + 2] == '/') {
            size_t start = i + 3, end = start;
            while (end < f->len && f->data[end] != c && f->data[end] != '\n' && end - start < 200)
                end++;
            struct file *dep = end < f->len && f->data[end] == c
                                   ? find((char *)f->data + start, end - start)
                                   : NULL;
            if (dep && dep != f) {
                resolve(dep);
                size_t hl = strlen(dep->hashed), pl = strlen(prefix);
                if (n + pl + hl + 8 > cap)
                    out = must(realloc(out, cap = cap * 2 + pl + hl));
                out[n++] = c;
                memcpy(out + n, prefix, pl);
                n += pl;
                memcpy(out + n, dep->hashed, hl);
                n += hl;
                out[n++] = c;
                i = end + 1;
                continue;
            }
        }
        if (n + 1 > cap)
            out = must(realloc(out, cap *= 2));
        out[n++] = c;
        i++;
    }
    free(f->data);
    f->data = out;
    f->len = n;
}

static void gzip(struct file *f)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip wants. */
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        die("%s", "deflateInit2 failed");
    size_t cap = deflateBound(&z, (uLong)f->len) + 64;
    f->gz = must(malloc(cap));
    z.next_in = f->data;
    z.avail_in = (uInt)f->len;
    z.next_out = f->gz;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        die("cannot compress %s", f->name);
    f->gz_len = z.total_out;
    deflateEnd(&z);
}

static void resolve(struct file *f)
{
    if (f->state == 2)
        return;
    if (f->state == 1)
        die("import cycle through %s", f->name);
    f->state = 1;
    rewrite(f);
    snprintf(f->hash, sizeof(f->hash), "%010llx",
             (unsigned long long)(fnv1a(f->data, f->len) >> 24));
    if (strcmp(f->name, "index.html") == 0) {
        snprintf(f->hashed, sizeof(f->hashed), "%s", f->name);
    } else {
        const char *dot = strrchr(f->name, '.');
        int base = dot ? (int)(dot - f->name) : (int)strlen(f->name);
        snprintf(f->hashed, sizeof(f->hashed), "%.*s.%s%s", base, f->name, f->hash, dot ? dot : "");
    }
    gzip(f);
    f->state = 2;
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    }
    die("no content type for %s", name);
    return NULL;
}

static void put_bytes(FILE *out, const char *sym, const unsigned char *p, size_t n)
{
    fprintf(out, "static const unsigned char %s[%zu] = {", sym, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%u,", i % 24 ? "" : "\n", p[i]);
    if (!n)
        fprintf(out, "0");
    fprintf(out, "\n};\n");
}

int main(int argc, char **argv)
{
    if (argc < 6)
        die("%s", "usage: embed OUT.c SET PREFIX DIR NAME...");
    const char *out_path = argv[1], *set = argv[2], *dir = argv[4];
    prefix = argv[3];
    if (strlen(set) > 40 || strspn(set, "abcdefghijklmnopqrstuvwxyz_") != strlen(set))
        die("bad set name %s", set);
    if (strlen(prefix) > 200 || strpbrk(prefix, "\"'\\\n"))
        die("bad prefix %s", prefix);
    for (int i = 5; i < argc; i++) {
        if (nfiles == MAX_FILES)
            die("%s", "too many files");
        if (strchr(argv[i], '/') || strlen(argv[i]) > 200)
            die("bad file name %s (flat names only)", argv[i]);
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, argv[i]);
        struct file *f = &files[nfiles++];
        f->name = argv[i];
        f->data = read_file(path, &f->len);
        (void)content_type(f->name);
    }
    if (!find("index.html", 10))
        die("%s", "index.html is missing");
    for (int i = 0; i < nfiles; i++)
        resolve(&files[i]);

    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
    FILE *out = fopen(tmp, "w");
    if (!out)
        die("cannot write %s", tmp);
    fprintf(out,
            "/* Generated by tools/embed.c from %s: do not edit. */\n"
            "#include \"api/assets.h\"\n\n",
            dir);
    size_t raw_total = 0, gz_total = 0;
    for (int i = 0; i < nfiles; i++) {
        char sym[32];
        snprintf(sym, sizeof(sym), "raw%d", i);
        put_bytes(out, sym, files[i].data, files[i].len);
        snprintf(sym, sizeof(sym), "gz%d", i);
        put_bytes(out, sym, files[i].gz, files[i].gz_len);
        raw_total += files[i].len;
        gz_total += files[i].gz_len;
    }
    fprintf(out, "\nstatic const struct api_asset items[] = {\n");
    for (int i = 0; i < nfiles; i++) {
        const struct file *f = &files[i];
        fprintf(out, "    {\"%s\", \"%s\", \"\\\"%s\\\"\", raw%d, %zu, gz%d, %zu, %s},\n",
                f->hashed, content_type(f->name), f->hash, i, f->len, i, f->gz_len,
                strcmp(f->name, "index.html") == 0 ? "true" : "false");
    }
    fprintf(out, "};\nconst struct api_asset_set api_%s_assets = {items, %d, %zu};\n", set, nfiles,
            gz_total);
    if (fclose(out) != 0 || rename(tmp, out_path) != 0)
        die("cannot write %s", out_path);
    fprintf(stderr, "embed: %s: %d files, %zu bytes, %zu gzipped (%.1f KiB)\n", set, nfiles,
            raw_total, gz_total, gz_total / 1024.0);
    return 0;
}
