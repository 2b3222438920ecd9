/* sniff.c -- see sniff.h. */
#include "core/files/sniff.h"

#include <string.h>

#include "base/utf8.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define OCTET "application/octet-stream"

static bool at(const unsigned char *p, size_t len, size_t off, const char *magic, size_t n)
{
    return len >= off + n && memcmp(p + off, magic, n) == 0;
}

#define AT(off, lit) at(p, len, (off), (lit), sizeof(lit) - 1)

/* ISO base media (MP4 family): "ftyp" at 4, the major brand at 8. */
static const char *sniff_ftyp(const unsigned char *p, size_t len)
{
    if (len < 12 || !AT(4, "ftyp"))
        return NULL;
    if (AT(8, "qt  "))
        return "video/quicktime";
    if (AT(8, "heic") || AT(8, "heix") || AT(8, "mif1") || AT(8, "msf1"))
        return "image/heic";
    if (AT(8, "avif") || AT(8, "avis"))
        return "image/avif";
    if (AT(8, "M4A ") || AT(8, "M4B "))
        return "audio/x-m4a";
    if (AT(8, "3gp") || AT(8, "3g2"))
        return "video/3gpp";
    return "video/mp4";
}

static bool has_nocase(const unsigned char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;
        while (k < n &&
               (char)((p[i + k] >= 'A' && p[i + k] <= 'Z') ? p[i + k] + 32 : p[i + k]) == needle[k])
            k++;
        if (k == n)
            return true;
    }
    return false;
}

static bool starts_nocase(const unsigned char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = (char)p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != prefix[i])
            return false;
    }
    return true;
}

/* Text: UTF-8 (a sequence cut by the sniff window is fine) without control
 * bytes other than tab, LF, FF, CR and ESC. */
static bool is_text(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r' && c != 0x1B)
            return false;
        if (c == 0x7F)
            return false;
    }
    /* A sequence cut by the sniff window is not an error: drop it. */
    size_t end = len;
    for (size_t k = 1; k <= 3 && k <= len; k++) {
        unsigned char c = p[len - k];
        if ((c & 0xC0) == 0x80)
            continue;
        if (c >= 0xC0) {
            size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (k < need)
                end = len - k;
        }
        break;
    }
    return utf8_is_valid((const char *)p, end);
}

static const char *sniff_text(const unsigned char *p, size_t len)
{
    if (AT(0, "\xEF\xBB\xBF")) {
        p += 3;
        len -= 3;
    }
    if (!is_text(p, len))
        return NULL;
    while (len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')) {
        p++;
        len--;
    }
    if (starts_nocase(p, len, "<svg") ||
        ((starts_nocase(p, len, "<?xml") || starts_nocase(p, len, "<!--")) &&
         has_nocase(p, len, "<svg")))
        return "image/svg+xml";
    if (starts_nocase(p, len, "<!doctype html") || starts_nocase(p, len, "<html") ||
        starts_nocase(p, len, "<head") || starts_nocase(p, len, "<body") ||
        starts_nocase(p, len, "<script") || starts_nocase(p, len, "<iframe"))
        return "text/html; charset=utf-8";
    if (starts_nocase(p, len, "<?xml"))
        return "text/xml; charset=utf-8";
    return TEXT_PLAIN;
}

const char *core_sniff_mime(const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len > CORE_SNIFF_BYTES)
        len = CORE_SNIFF_BYTES;
    if (len == 0)
        return TEXT_PLAIN;
    if (AT(0, "\x89PNG\r\n\x1A\n"))
        return "image/png";
    if (AT(0, "\xFF\xD8\xFF"))
        return "image/jpeg";
    if (AT(0, "GIF87a") || AT(0, "GIF89a"))
        return "image/gif";
    if (AT(0, "RIFF") && AT(8, "WEBP"))
        return "image/webp";
    if (AT(0, "RIFF") && AT(8, "WAVE"))
        return "audio/wav";
    if (AT(0, "RIFF") && AT(8, "AVI "))
        return "video/x-msvideo";
    if (AT(0, "BM") && len >= 14)
        return "image/bmp";
    if (AT(0, "\x00\x00\x01\x00") && len >= 6)
        return "image/x-icon";
    if (AT(0, "II*\x00") || AT(0, "MM\x00*"))
        return "image/tiff";
    if (AT(0, "8BPS"))
        return "image/vnd.adobe.photoshop";
    if (AT(0, "%PDF-"))
        return "application/pdf";
    if (AT(0, "PK\x03\x04"))
        return "application/zip";
    if (AT(0, "\x1F\x8B"))
        return "application/gzip";
    if (AT(0, "7z\xBC\xAF\x27\x1C"))
        return "application/x-7z-compressed";
    if (AT(0, "Rar!\x1A\x07"))
        return "application/x-rar-compressed";
    if (AT(0, "BZh"))
        return "application/x-bzip2";
    if (AT(0, "\xFD"
              "7zXZ\x00"))
        return "application/x-xz";
    if (AT(0, "OggS"))
        return "audio/ogg";
    if (AT(0, "fLaC"))
        return "audio/flac";
    if (AT(0, "ID3") || AT(0, "\xFF\xFB") || AT(0, "\xFF\xF3") || AT(0, "\xFF\xF2"))
        return "audio/mpeg";
    if (AT(0, "\x1A\x45\xDF\xA3"))
        return has_nocase(p, len < 64 ? len : 64, "webm") ? "video/webm" : "video/x-matroska";
    if (AT(0, "wOFF"))
        return "font/woff";
    if (AT(0, "wOF2"))
        return "font/woff2";
    if (AT(0, "SQLite format 3\x00"))
        return "application/vnd.sqlite3";
    if (AT(0, "\x7F"
              "ELF"))
        return "application/x-elf";
    if (AT(0, "\x00"
              "asm"))
        return "application/wasm";
    const char *m = sniff_ftyp(p, len);
    if (m)
        return m;
    m = sniff_text(p, len);
    return m ? m : OCTET;
}

struct str core_sniff_base(struct str mime)
{
    const char *semi = mime.ptr ? memchr(mime.ptr, ';', mime.len) : NULL;
    if (semi)
        mime.len = (size_t)(semi - mime.ptr);
    return str_trim_ows(mime);
}

static const struct {
    const char *mime;
    const char *ext;
} exts[] = {
    {"image/png", ".png"},
    {"image/jpeg", ".jpg"},
    {"image/gif", ".gif"},
    {"image/webp", ".webp"},
    {"image/bmp", ".bmp"},
    {"image/x-icon", ".ico"},
    {"image/tiff", ".tiff"},
    {"image/svg+xml", ".svg"},
    {"image/heic", ".heic"},
    {"image/avif", ".avif"},
    {"image/vnd.adobe.photoshop", ".psd"},
    {"application/pdf", ".pdf"},
    {"application/zip", ".zip"},
    {"application/gzip", ".gz"},
    {"application/x-7z-compressed", ".7z"},
    {"application/x-rar-compressed", ".rar"},
    {"application/x-bzip2", ".bz2"},
    {"application/x-xz", ".xz"},
    {"application/vnd.sqlite3", ".sqlite"},
    {"application/wasm", ".wasm"},
    {"audio/ogg", ".ogg"},
    {"audio/flac", ".flac"},
    {"audio/mpeg", ".mp3"},
    {"audio/wav", ".wav"},
    {"audio/x-m4a", ".m4a"},
    {"video/x-msvideo", ".avi"},
    {"video/quicktime", ".mov"},
    {"video/3gpp", ".3gp"},
    {"video/mp4", ".mp4"},
    {"video/webm", ".webm"},
    {"video/x-matroska", ".mkv"},
    {"font/woff", ".woff"},
    {"font/woff2", ".woff2"},
    {"text/plain", ".txt"},
    {"text/html", ".html"},
    {"text/xml", ".xml"},
};

const char *core_sniff_ext(struct str mime)
{
    struct str base = core_sniff_base(mime);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        if (str_eq_cstr_nocase(base, exts[i].mime))
            return exts[i].ext;
    }
    return "";
}

/* Names that mean the same type. */
static const char *const aliases[][2] = {
    {"image/jpg", "image/jpeg"},
    {"image/pjpeg", "image/jpeg"},
    {"audio/x-wav", "audio/wav"},
    {"audio/wave", "audio/wav"},
    {"audio/mp3", "audio/mpeg"},
    {"audio/x-mpeg", "audio/mpeg"},
    {"image/vnd.microsoft.icon", "image/x-icon"},
    {"application/x-gzip", "application/gzip"},
    {"application/xml", "text/xml"},
    {"application/x-zip-compressed", "application/zip"},
};

static struct str canonical(struct str m)
{
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (str_eq_cstr_nocase(m, aliases[i][0]))
            return str_from_cstr(aliases[i][1]);
    }
    return m;
}

bool core_sniff_mime_is(struct str got, struct str allowed)
{
    struct str a = canonical(core_sniff_base(got));
    struct str b = canonical(core_sniff_base(allowed));
    return a.len && str_eq_nocase(a, b);
}
