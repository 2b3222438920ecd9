/* filter_geo.c -- the box a distance filter adds for the points' index
 * (see filter_int.h, core_fc_geo_box; issue #18, item 3). */
#include "core/filter/filter_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter/filter_parse.h"
#include "store/search.h"

/* The geoPoint field a "name.lon" or "name.lat" operand reads (axis: ".lon"
 * or ".lat") of the filtered collection itself, and its number among the
 * collection's geoPoint fields; NULL otherwise. */
static const struct core_field *point_axis(const struct core_fc *g, const struct core_foperand *o,
                                           const char *axis, unsigned *nth)
{
    size_t n = strlen(axis);
    if (o->kind != CORE_FOPD_IDENT || o->text.len <= n ||
        memcmp(o->text.ptr + o->text.len - n, axis, n) != 0)
        return NULL;
    struct str name = {o->text.ptr, o->text.len - n};
    const struct core_collection *c = g->o->collection;
    unsigned k = 0;
    for (size_t i = 0; i < c->field_count; i++) {
        if (c->fields[i].type != CORE_FIELD_GEOPOINT)
            continue;
        if (str_eq(name, str_from_cstr(c->fields[i].name))) {
            *nth = k;
            return &c->fields[i];
        }
        k++;
    }
    return NULL;
}

static bool number_of(const struct core_foperand *o, double *out)
{
    if (o->kind != CORE_FOPD_NUMBER || o->text.len > 40)
        return false;
    char z[48];
    memcpy(z, o->text.ptr, o->text.len);
    z[o->text.len] = '\0';
    char *end;
    *out = strtod(z, &end);
    return *end == '\0' && isfinite(*out);
}

/* Whether the geoDistance call fn is spelt as the sort term near names. */
static bool is_near_point(struct core_fc *g, const struct core_foperand *fn,
                          const struct core_geo_near *near)
{
    struct core_foperand t;
    char err[64];
    if (core_filter_parse_operand(near->sort_term, g->a, &t, err, sizeof(err)) ||
        t.kind != CORE_FOPD_FUNC || !str_eq(t.text, fn->text) || t.arg_count != fn->arg_count)
        return false;
    for (size_t i = 0; i < t.arg_count; i++) {
        if (t.args[i].kind != fn->args[i].kind || !str_eq(t.args[i].text, fn->args[i].text))
            return false;
    }
    return true;
}

struct str core_fc_geo_box(struct core_fc *g, const struct core_fnode *n)
{
    const struct core_collection *c = g->o->collection;
    if (!g->o->is_table || c->type == CORE_COLLECTION_VIEW)
        return STR_LIT("");
    enum core_fop op = core_fop_base(n->op);
    const struct core_foperand *fn = &n->left, *limit = &n->right;
    if (op == CORE_FOP_GT || op == CORE_FOP_GTE) {
        fn = &n->right;
        limit = &n->left;
    } else if (op != CORE_FOP_LT && op != CORE_FOP_LTE) {
        return STR_LIT("");
    }
    double r, lon, lat;
    if (fn->kind != CORE_FOPD_FUNC || !str_eq(fn->text, STR_LIT("geoDistance")) ||
        fn->arg_count != 4 || !number_of(limit, &r) || r < 0)
        return STR_LIT("");
    unsigned nth = 0, nth2 = 0;
    const struct core_foperand *a = fn->args;
    size_t at = a[0].kind == CORE_FOPD_IDENT ? 0 : 2; /* the field's pair */
    const struct core_field *f = point_axis(g, &a[at], ".lon", &nth);
    if (!f || point_axis(g, &a[at + 1], ".lat", &nth2) != f || !number_of(&a[2 - at], &lon) ||
        !number_of(&a[3 - at], &lat))
        return STR_LIT("");
    struct core_geo_near *near = g->o->near;
    if (near && near->fraction > 0 && near->fraction < 1 && is_near_point(g, fn, near)) {
        r *= near->fraction;
        if (near->km == 0 || r < near->km)
            near->km = r;
    }
    /* The box (the sphere of geoDistance, R = 6371 km): latitude +- r;
     * longitude +- asin(sin(r) / cos(lat)), the widest a circle of radius
     * r gets there (Matuschek); all longitudes when it reaches a pole or
     * crosses the antimeridian. A hair wider for the rounding of either side. */
    const double km_per_rad = 6371.0, deg = 180.0 / M_PI, hair = 1e-6;
    double dr = r / km_per_rad;
    if (dr >= M_PI)
        return STR_LIT("");
    double lat1 = lat - dr * deg - hair, lat2 = lat + dr * deg + hair;
    double lon1 = -180, lon2 = 180;
    double s = sin(dr) / cos(lat / deg);
    if (lat1 > -90 && lat2 < 90 && s < 1) {
        double dlon = asin(s) * deg + hair;
        if (lon - dlon >= -180 && lon + dlon <= 180) {
            lon1 = lon - dlon;
            lon2 = lon + dlon;
        }
    }
    const double corners[4] = {lon1, lon2, lat1, lat2};
    struct str ph[4];
    for (int i = 0; i < 4; i++) {
        struct core_fc_val v;
        core_fc_param_val(g, (struct core_sql_param){.type = CORE_SQL_DOUBLE, .d = corners[i]}, &v);
        ph[i] = v.sql;
    }
    struct buf b;
    buf_init(&b, 1 << 12);
    struct str out = STR_LIT("");
    if (!store_geo_box_as(&b, core_fc_is_pg() ? STORE_DIALECT_POSTGRES : STORE_DIALECT_SQLITE,
                          str_from_cstr(c->id), nth, g->row, str_from_cstr(f->name), ph))
        out = core_fc_fmt(g, "%.*s", FC_S(buf_str(&b)));
    buf_cleanup(&b);
    return out;
}
