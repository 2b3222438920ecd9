/* backup_name.c -- see backup_name.h. */
#include "core/backup/backup_name.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

bool core_backup_name_is_valid(struct str name)
{
    if (name.len < 5 || name.len > 150)
        return false;
    if (memcmp(name.ptr + name.len - 4, ".zip", 4) != 0)
        return false;
    for (size_t i = 0; i + 4 < name.len; i++) {
        char c = name.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool core_backup_key_is_safe(struct str key)
{
    if (key.len == 0 || key.len > CORE_BACKUP_KEY_MAX || key.ptr[0] == '.')
        return false;
    for (size_t i = 0; i < key.len; i++) {
        unsigned char c = (unsigned char)key.ptr[i];
        if (c < 0x21 || c > 0x7e || c == '/' || c == '\\')
            return false;
    }
    return true;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_word(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void core_backup_snakecase(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return;
    for (size_t i = 0; s[i];) {
        while (s[i] && !is_word(s[i]))
            i++;
        if (!s[i])
            break;
        if (o && o + 1 < cap)
            out[o++] = '_';
        for (size_t w = i; s[i] && is_word(s[i]); i++) {
            if (is_upper(s[i]) && i > w && !is_upper(s[i - 1]) && o + 1 < cap)
                out[o++] = '_';
            if (o + 1 < cap)
                out[o++] = (char)(is_upper(s[i]) ? s[i] - 'A' + 'a' : s[i]);
        }
    }
    out[o] = '\0';
}

void core_backup_auto_name(const char *prefix, const char *app_name, int64_t now_ms,
                           char out[CORE_BACKUP_KEY_MAX + 1])
{
    char app[51];
    core_backup_snakecase(app_name, app, sizeof(app));
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[16];
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    snprintf(out, CORE_BACKUP_KEY_MAX + 1, "%s%s_%s.zip", prefix, app, stamp);
}

/* Newer first: by mtime, then by key (names carry their time). */
static bool is_newer(const struct core_backup_entry *a, const struct core_backup_entry *b)
{
    if (a->mtime_ms != b->mtime_ms)
        return a->mtime_ms > b->mtime_ms;
    return strcmp(a->key, b->key) > 0;
}

size_t core_backup_retention(const struct core_backup_entry *e, size_t n, int64_t max_keep,
                             size_t *drop)
{
    if (max_keep <= 0)
        return 0;
    size_t prefix_len = strlen(CORE_BACKUP_AUTO_PREFIX);
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(e[i].key, CORE_BACKUP_AUTO_PREFIX, prefix_len) != 0)
            continue;
        /* insertion sort of the automatic ones, newest first */
        size_t j = count++;
        while (j > 0 && is_newer(&e[i], &e[drop[j - 1]])) {
            drop[j] = drop[j - 1];
            j--;
        }
        drop[j] = i;
    }
    if ((int64_t)count <= max_keep)
        return 0;
    size_t keep = (size_t)max_keep;
    memmove(drop, drop + keep, (count - keep) * sizeof(*drop));
    return count - keep;
}
