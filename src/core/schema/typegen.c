/* typegen.c -- see typegen.h. One pass per language over the collections;
 * names are derived the same way in both (PascalCase of the collection name,
 * then of the field name for select enums), and every string that came from
 * the schema (select values, names) is written as an escaped literal. */
#include "core/schema/typegen.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/schema/field_type.h"

/* A writer that keeps its first error (STYLE.md §1.4). */
struct out {
    struct buf *b;
    enum rc rc;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
    if (o->rc)
        return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->rc = RC_INTERNAL;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        o->rc = buf_append(o->b, small, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    o->rc = buf_append(o->b, big, (size_t)n);
    xfree(big);
}

/* A string literal in single or double quotes; bytes outside printable ASCII
 * become \uXXXX (both languages accept it), quotes and $ are escaped. */
static void literal(struct out *o, const char *s, char quote)
{
    emit(o, "%c", quote);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == (unsigned char)quote || *p == '\\' || (*p == '$' && quote == '\''))
            emit(o, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            emit(o, "\\u%04x", *p);
        else
            emit(o, "%c", *p);
    }
    emit(o, "%c", quote);
}

/* PascalCase of a snake_case (or any \w) name: "user_posts" -> "UserPosts". */
static void pascal(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    bool up = true;
    for (const char *p = name; *p && n + 1 < cap; p++) {
        bool alnum =
            (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum) {
            up = true;
            continue;
        }
        if (n == 0 && *p >= '0' && *p <= '9')
            out[n++] = 'N';
        out[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;
        up = false;
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, cap, "X");
}

/* camelCase for Dart members: "created_at" -> "createdAt"; Dart keywords and
 * names that would clash with the class's own members get a trailing '_'. */
static void camel(const char *name, char *out, size_t cap)
{
    pascal(name, out, cap);
    if (out[0] >= 'A' && out[0] <= 'Z')
        out[0] = (char)(out[0] + 32);
    static const char *const reserved[] = {
        "abstract",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "dynamic",
        "else",
        "enum",
        "export",
        "extends",
        "extension",
        "external",
        "factory",
        "false",
        "final",
        "finally",
        "for",
        "get",
        "if",
        "implements",
        "import",
        "in",
        "is",
        "late",
        "library",
        "new",
        "null",
        "operator",
        "part",
        "required",
        "rethrow",
        "return",
        "set",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typedef",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "toJson",
        "fromRecord",
        "fileUrl",
        "hashCode",
        "toString",
        "runtimeType",
        "collectionName",
        "collectionId",
        "expand",
        "values",
        "index",
        "name",
    };
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcmp(out, reserved[i]) == 0) {
            size_t n = strlen(out);
            if (n + 2 <= cap) {
                out[n] = '_';
                out[n + 1] = '\0';
            }
            return;
        }
    }
}

static bool visible(const struct core_collection *c, bool su)
{
    return su || c->rules[CORE_RULE_LIST];
}

/* In answers: passwords and tokenKey never, hidden fields for superusers. */
static bool in_record(const struct core_collection *c, const struct core_field *f, bool su)
{
    if (core_field_is_secret(c, f))
        return false;
    return su || !f->is_hidden;
}

static bool is_base_field(const struct core_collection *c, const struct core_field *f)
{
    if (f->is_primary_key)
        return true;
    return c->type == CORE_COLLECTION_AUTH &&
           (strcmp(f->name, "email") == 0 || strcmp(f->name, "emailVisibility") == 0 ||
            strcmp(f->name, "verified") == 0);
}

/* How the typed models write f's value: its kind's model, or its list model
 * when f holds many (an enum kind's types are named after the field instead). */
static const struct core_field_model *value_model(const struct core_field *f)
{
    const struct core_field_kind *k = core_field_kind(f);
    return core_field_is_multi(f) ? &k->many : &k->model;
}

/* ---- TypeScript ------------------------------------------------------------ */

/* What the kind's model says; an enum kind's type is named after its field. */
static void ts_value_type(struct out *o, const struct core_collection *c,
                          const struct core_field *f, bool is_input)
{
    const struct core_field_kind *k = core_field_kind(f);
    bool multi = core_field_is_multi(f);
    if (k->is_enum) {
        char cn[200], fnm[200];
        pascal(c->name, cn, sizeof(cn));
        pascal(f->name, fnm, sizeof(fnm));
        emit(o, multi ? "%s%sOptions[]" : "%s%sOptions | \"\"", cn, fnm);
        return;
    }
    const struct core_field_model *m = value_model(f);
    emit(o, "%s", is_input && m->ts_input ? m->ts_input : m->ts);
}

static void ts_collection(struct out *o, const struct core_collection *c, bool su)
{
    char cn[200], fnm[200];
    pascal(c->name, cn, sizeof(cn));
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!core_field_kind(f)->is_enum)
            continue;
        pascal(f->name, fnm, sizeof(fnm));
        emit(o, "export enum %s%sOptions {\n", cn, fnm);
        for (size_t k = 0; k < f->value_count; k++) {
            emit(o, "    ");
            literal(o, f->values[k], '"');
            emit(o, " = ");
            literal(o, f->values[k], '"');
            emit(o, ",\n");
        }
        emit(o, "}\n\n");
    }
    bool is_view = c->type == CORE_COLLECTION_VIEW;
    emit(o, "/** What the API answers for a record of \"%s\"%s. */\n", c->name,
         is_view ? " (a view collection: read-only)" : "");
    emit(o, "export type %sRecord<TExpand = unknown> = %s<TExpand> & {\n", cn,
         c->type == CORE_COLLECTION_AUTH ? "AuthSystemFields" : "BaseSystemFields");
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!in_record(c, f, su) || is_base_field(c, f))
            continue;
        emit(o, "    ");
        literal(o, f->name, '"');
        emit(o, "%s: ", f->is_hidden ? "?" : "");
        ts_value_type(o, c, f, false);
        emit(o, ";\n");
    }
    if (c->search.field_count)
        emit(o,
             "    /** With getList(..., { search, searchSnippet: true }): the field that matches "
             "best, its text around the matches (each between \\u0002 and \\u0003). */\n"
             "    \"@snippet\"?: { field: string; text: string };\n");
    bool has_vector = false;
    for (size_t i = 0; i < c->field_count; i++)
        has_vector = has_vector || c->fields[i].type == CORE_FIELD_VECTOR;
    if (has_vector)
        emit(o, "    /** With getList(..., { nearest, to }): the distance to `to` (null: a "
                "hybrid list's text match without a vector). */\n"
                "    \"@distance\"?: number | null;\n"
                "    /** With getList(..., { nearest, to, search }): the fused rank's score. */\n"
                "    \"@score\"?: number;\n");
    emit(o, "};\n\n");
    if (is_view)
        return; /* its records are its query's rows: nothing to create or update */
    emit(o, "/** What a create takes for \"%s\" (an update takes a Partial of it). */\n", c->name);
    emit(o, "export type %sCreate = {\n", cn);
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (core_field_kind(f)->input == CORE_FIELD_INPUT_AUTO || strcmp(f->name, "tokenKey") == 0)
            continue;
        bool required = f->is_required && !f->is_primary_key;
        emit(o, "    ");
        literal(o, f->name, '"');
        emit(o, "%s: ", required ? "" : "?");
        ts_value_type(o, c, f, true);
        emit(o, ";\n");
    }
    if (c->type == CORE_COLLECTION_AUTH)
        emit(o, "    \"passwordConfirm\"?: string;\n");
    emit(o, "};\n\n");
}

static void typegen_ts(struct out *o, const struct core_schema *s, bool su)
{
    char cn[200];
    emit(o, "// Generated by tarmac (tarmac gen types --lang=ts) from the live schema.\n"
            "// Do not edit: run the command again after changing a collection.\n\n"
            "import type PocketBase from \"pocketbase\";\n"
            "import type { RecordService } from \"pocketbase\";\n\n"
            "/** \"2006-01-02 15:04:05.000Z\" in UTC, or \"\". */\n"
            "export type IsoDateString = string;\n"
            "export type RecordIdString = string;\n"
            "export type GeoPoint = { lon: number; lat: number };\n\n"
            "export enum Collections {\n");
    for (size_t i = 0; i < s->count; i++) {
        const struct core_collection *c = s->items[i];
        if (!visible(c, su))
            continue;
        pascal(c->name, cn, sizeof(cn));
        emit(o, "    %s = ", cn);
        literal(o, c->name, '"');
        emit(o, ",\n");
    }
    emit(o, "}\n\n"
            "export type BaseSystemFields<TExpand = unknown> = {\n"
            "    id: RecordIdString;\n"
            "    collectionId: string;\n"
            "    collectionName: Collections;\n"
            "    expand?: TExpand;\n"
            "};\n\n"
            "export type AuthSystemFields<TExpand = unknown> = BaseSystemFields<TExpand> & {\n"
            "    /** Present when emailVisibility is on, or for the record's owner. */\n"
            "    email?: string;\n"
            "    emailVisibility: boolean;\n"
            "    verified: boolean;\n"
            "};\n\n");
    for (size_t i = 0; i < s->count; i++) {
        if (visible(s->items[i], su))
            ts_collection(o, s->items[i], su);
    }
    emit(o, "/** `new PocketBase(url) as TypedPocketBase` types pb.collection(name). */\n"
            "export type TypedPocketBase = PocketBase & {\n");
    for (size_t i = 0; i < s->count; i++) {
        const struct core_collection *c = s->items[i];
        if (!visible(c, su))
            continue;
        pascal(c->name, cn, sizeof(cn));
        emit(o, "    collection(idOrName: ");
        literal(o, c->name, '"');
        emit(o, "): RecordService<%sRecord>;\n", cn);
    }
    emit(o, "    collection(idOrName: string): RecordService;\n};\n");
}

/* ---- Dart ----------------------------------------------------------------- */

/* An identifier for a select value: its camelCase, "value<k>" when it has no
 * letter or digit, numbered when two values collide. */
static void dart_enum_member(const struct core_field *f, size_t k, char *out, size_t cap)
{
    bool has_alnum = false;
    for (const char *p = f->values[k]; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            has_alnum = true;
    }
    if (has_alnum)
        camel(f->values[k], out, cap);
    else
        snprintf(out, cap, "value%zu", k);
    for (size_t j = 0; j < k; j++) {
        char other[200];
        dart_enum_member(f, j, other, sizeof(other));
        if (strcmp(other, out) == 0) {
            size_t n = strlen(out);
            snprintf(out + n, cap - n, "%zu", k);
            return;
        }
    }
}

static void dart_type(struct out *o, const struct core_collection *c, const struct core_field *f)
{
    const struct core_field_kind *k = core_field_kind(f);
    bool multi = core_field_is_multi(f);
    if (k->is_enum) {
        char cn[200], fnm[200];
        pascal(c->name, cn, sizeof(cn));
        pascal(f->name, fnm, sizeof(fnm));
        emit(o, multi ? "List<%s%s>" : "%s%s?", cn, fnm);
        return;
    }
    emit(o, "%s", value_model(f)->dart);
}

/* The expression reading field f out of RecordModel r. */
static void dart_read(struct out *o, const struct core_collection *c, const struct core_field *f)
{
    const struct core_field_kind *k = core_field_kind(f);
    bool multi = core_field_is_multi(f);
    if (k->is_enum) {
        char cn[200], fnm[200];
        pascal(c->name, cn, sizeof(cn));
        pascal(f->name, fnm, sizeof(fnm));
        if (multi)
            emit(o, "r.getListValue<String>(");
        else
            emit(o, "%s%sValue.parse(r.getStringValue(", cn, fnm);
        literal(o, f->name, '\'');
        if (multi)
            emit(o, ").map(%s%sValue.parse).whereType<%s%s>().toList()", cn, fnm, cn, fnm);
        else
            emit(o, "))");
        return;
    }
    const struct core_field_model *m = value_model(f);
    emit(o, "%s", m->dart_get);
    literal(o, f->name, '\'');
    emit(o, "%s", m->dart_get_end);
}

/* The JSON value of member m of field f for toJson(). */
static void dart_write(struct out *o, const struct core_field *f, const char *m)
{
    const struct core_field_kind *k = core_field_kind(f);
    bool multi = core_field_is_multi(f);
    if (k->is_enum && multi)
        emit(o, "%s.map((e) => e.value).toList()", m);
    else if (k->is_enum)
        emit(o, "%s?.value ?? ''", m);
    else if (value_model(f)->dart_put)
        emit(o, "%s%s", m, value_model(f)->dart_put);
    else
        emit(o, "%s", m);
}

/* want as a Dart member of c's record class, or with a '$' in front when
 * one of c's fields has that member name (camel). */
static void extra_member(const struct core_collection *c, const char *want, char *out, size_t cap)
{
    char m[200];
    for (size_t i = 0; i < c->field_count; i++) {
        camel(c->fields[i].name, m, sizeof(m));
        if (strcmp(m, want) == 0) {
            snprintf(out, cap, "$%s", want);
            return;
        }
    }
    snprintf(out, cap, "%s", want);
}

static void dart_collection(struct out *o, const struct core_collection *c, bool su)
{
    char cn[200], fnm[200], m[200];
    pascal(c->name, cn, sizeof(cn));
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!core_field_kind(f)->is_enum)
            continue;
        pascal(f->name, fnm, sizeof(fnm));
        emit(o, "enum %s%s {", cn, fnm);
        for (size_t k = 0; k < f->value_count; k++) {
            dart_enum_member(f, k, m, sizeof(m));
            emit(o, "%s %s", k ? "," : "", m);
        }
        emit(o,
             " }\n\nextension %s%sValue on %s%s {\n  /// The value on the wire.\n"
             "  String get value {\n    switch (this) {\n",
             cn, fnm, cn, fnm);
        for (size_t k = 0; k < f->value_count; k++) {
            dart_enum_member(f, k, m, sizeof(m));
            emit(o, "      case %s%s.%s:\n        return ", cn, fnm, m);
            literal(o, f->values[k], '\'');
            emit(o, ";\n");
        }
        emit(o,
             "    }\n  }\n\n  static %s%s? parse(Object? v) {\n"
             "    for (final e in %s%s.values) {\n      if (e.value == v) return e;\n    }\n"
             "    return null;\n  }\n}\n\n",
             cn, fnm, cn, fnm);
    }
    bool is_view = c->type == CORE_COLLECTION_VIEW;
    emit(o, "/// A record of \"%s\"%s as the API answers it.\nclass %sRecord {\n", c->name,
         is_view ? " (a view collection: read-only)" : "", cn);
    emit(o, "  static const collectionName = ");
    literal(o, c->name, '\'');
    emit(o, ";\n  static const collectionId = ");
    literal(o, c->id, '\'');
    emit(o, ";\n\n");
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!in_record(c, f, su))
            continue;
        camel(f->name, m, sizeof(m));
        emit(o, "  final ");
        dart_type(o, c, f);
        emit(o, " %s;\n", m);
    }
    /* What a list adds to its items (record_read.c write_extras), under
     * names no field of the collection has as a member. */
    char snippet[64], distance[64], score[64];
    extra_member(c, "searchSnippet", snippet, sizeof(snippet));
    extra_member(c, "distance", distance, sizeof(distance));
    extra_member(c, "score", score, sizeof(score));
    bool has_search = c->search.field_count > 0, has_vector = false;
    for (size_t i = 0; i < c->field_count; i++)
        has_vector = has_vector || c->fields[i].type == CORE_FIELD_VECTOR;
    if (has_search)
        emit(o,
             "  /// With getList(..., query: {'search': ..., 'searchSnippet': true}): the field\n"
             "  /// that matches best and its text around the matches (\"@snippet\").\n"
             "  final SearchSnippet? %s;\n",
             snippet);
    if (has_vector)
        emit(o,
             "  /// With getList(..., query: {'nearest': ..., 'to': ...}): the distance to `to`\n"
             "  /// (\"@distance\"; null for a hybrid list's text match without a vector).\n"
             "  final double? %s;\n"
             "  /// With nearest and search together: the fused rank's score (\"@score\").\n"
             "  final double? %s;\n",
             distance, score);
    emit(o, "  final Map<String, dynamic> expand;\n\n  const %sRecord({\n", cn);
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!in_record(c, f, su))
            continue;
        camel(f->name, m, sizeof(m));
        bool nullable = core_field_kind(f)->is_enum && !core_field_is_multi(f);
        emit(o, "    %sthis.%s,\n", nullable ? "" : "required ", m);
    }
    if (has_search)
        emit(o, "    this.%s,\n", snippet);
    if (has_vector)
        emit(o, "    this.%s,\n    this.%s,\n", distance, score);
    emit(o, "    this.expand = const {},\n  });\n\n");
    emit(o, "  factory %sRecord.fromRecord(RecordModel r) => %sRecord(\n", cn, cn);
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!in_record(c, f, su))
            continue;
        camel(f->name, m, sizeof(m));
        emit(o, "        %s: ", m);
        if (f->is_primary_key)
            emit(o, "r.id");
        else
            dart_read(o, c, f);
        emit(o, ",\n");
    }
    if (has_search)
        emit(o, "        %s: SearchSnippet.fromJson(r.data['@snippet']),\n", snippet);
    if (has_vector)
        emit(o,
             "        %s: (r.data['@distance'] as num?)?.toDouble(),\n"
             "        %s: (r.data['@score'] as num?)?.toDouble(),\n",
             distance, score);
    emit(o, "        expand: r.expand,\n      );\n");
    if (is_view) {
        /* No body to send and no files of its own: only what it answers. */
        emit(o, "}\n\n");
        return;
    }
    emit(o, "\n  Map<String, dynamic> toJson() => {\n");
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (!in_record(c, f, su) || core_field_kind(f)->input == CORE_FIELD_INPUT_AUTO)
            continue;
        camel(f->name, m, sizeof(m));
        emit(o, "        ");
        literal(o, f->name, '\'');
        emit(o, ": ");
        dart_write(o, f, m);
        emit(o, ",\n");
    }
    emit(o, "      };\n\n  /// The path of one of this record's files (prefix the server's URL).\n"
            "  String fileUrl(String filename) =>\n"
            "      '/api/files/$collectionId/$id/${Uri.encodeComponent(filename)}';\n}\n\n");
}

static void typegen_dart(struct out *o, const struct core_schema *s, bool su)
{
    emit(o, "// Generated by tarmac (tarmac gen types --lang=dart) from the live schema.\n"
            "// Do not edit: run the command again after changing a collection.\n\n"
            "import 'package:pocketbase/pocketbase.dart';\n\n"
            "class GeoPoint {\n  final num lon;\n  final num lat;\n\n"
            "  const GeoPoint({required this.lon, required this.lat});\n\n"
            "  factory GeoPoint.fromJson(Object? v) {\n"
            "    final m = v is Map ? v : const {};\n"
            "    return GeoPoint(lon: (m['lon'] as num?) ?? 0, lat: (m['lat'] as num?) ?? 0);\n"
            "  }\n\n  Map<String, dynamic> toJson() => {'lon': lon, 'lat': lat};\n}\n\n"
            "/// A search's snippet: the field that matches best and its text around the\n"
            "/// matches, each between \\u0002 and \\u0003.\n"
            "class SearchSnippet {\n  final String field;\n  final String text;\n\n"
            "  const SearchSnippet({required this.field, required this.text});\n\n"
            "  static SearchSnippet? fromJson(Object? v) => v is Map\n"
            "      ? SearchSnippet(field: '${v['field'] ?? ''}', text: '${v['text'] ?? ''}')\n"
            "      : null;\n}\n\n");
    for (size_t i = 0; i < s->count; i++) {
        if (visible(s->items[i], su))
            dart_collection(o, s->items[i], su);
    }
}

enum rc core_typegen(const struct core_schema *schema, enum core_typegen_lang lang,
                     bool for_superuser, struct buf *out)
{
    struct out o = {.b = out};
    if (lang == CORE_TYPEGEN_TS)
        typegen_ts(&o, schema, for_superuser);
    else
        typegen_dart(&o, schema, for_superuser);
    return o.rc;
}
