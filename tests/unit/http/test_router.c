/* test_router.c -- unit tests of http/router.h: literal and {param} routes
 * side by side, per-segment percent-decoding, bad paths, exact segment
 * matching (no trailing slash, no empty segment), 405 with its Allow set,
 * and HEAD served by GET. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/router.h"
#include "slice_assert.h"

#define BIT(m) (1u << (m))

/* Handlers are never called; they and their ctx only identify a route. */
static enum rc handler_a(struct http_req *req, void *ctx)
{
    return RC_OK;
}

static enum rc handler_b(struct http_req *req, void *ctx)
{
    return RC_INTERNAL;
}

/* One ctx per route, so a match names the route it hit. */
enum route_id {
    R_ROOT,
    R_HEALTH,
    R_RECORDS_GET,
    R_RECORDS_POST,
    R_RECORD_GET,
    R_RECORD_PATCH,
    R_RECORD_DELETE,
    R_RECORDS_STATS,
    R_HEAD_GET,
    R_HEAD_HEAD,
    R_POST_ONLY,
    R_A_PARAM_C,
    R_A_B_D,
    R_DEEP,
    R_PLUS,
    R_COUNT
};
static int ids[R_COUNT];
#define CTX(id) ((void *)&ids[(id)])

struct fixture {
    struct http_router *router;
    struct arena arena;
    struct http_route_match m;
};

static int setup(void **state)
{
    static struct fixture f;
    struct http_router *r = http_router_new();
    http_router_add(r, HTTP_METHOD_GET, "/", handler_a, CTX(R_ROOT));
    http_router_add(r, HTTP_METHOD_GET, "/api/health", handler_a, CTX(R_HEALTH));
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/records", handler_a,
                    CTX(R_RECORDS_GET));
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/records", handler_b,
                    CTX(R_RECORDS_POST));
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/records/{id}", handler_a,
                    CTX(R_RECORD_GET));
    http_router_add(r, HTTP_METHOD_PATCH, "/api/collections/{collection}/records/{id}", handler_a,
                    CTX(R_RECORD_PATCH));
    http_router_add(r, HTTP_METHOD_DELETE, "/api/collections/{collection}/records/{id}", handler_a,
                    CTX(R_RECORD_DELETE));
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/records/stats", handler_a,
                    CTX(R_RECORDS_STATS));
    http_router_add(r, HTTP_METHOD_GET, "/head", handler_a, CTX(R_HEAD_GET));
    http_router_add(r, HTTP_METHOD_HEAD, "/head", handler_b, CTX(R_HEAD_HEAD));
    http_router_add(r, HTTP_METHOD_POST, "/post-only", handler_b, CTX(R_POST_ONLY));
    http_router_add(r, HTTP_METHOD_GET, "/a/{x}/c", handler_a, CTX(R_A_PARAM_C));
    http_router_add(r, HTTP_METHOD_GET, "/a/b/d", handler_a, CTX(R_A_B_D));
    http_router_add(r, HTTP_METHOD_GET, "/deep/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}", handler_a,
                    CTX(R_DEEP));
    http_router_add(r, HTTP_METHOD_GET, "/plus/{v}", handler_a, CTX(R_PLUS));
    f.router = r;
    arena_init(&f.arena, 4096);
    memset(&f.m, 0, sizeof(f.m));
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_router_free(f->router);
    arena_cleanup(&f->arena);
    return 0;
}

static enum http_route_result match(struct fixture *f, enum http_method method, const char *path)
{
    return http_router_match(f->router, method, str_from_cstr(path), &f->arena, &f->m);
}

#define assert_found(f, method, path, id)                                                          \
    do {                                                                                           \
        enum http_route_result r_ = match((f), (method), (path));                                  \
        if (r_ != HTTP_ROUTE_FOUND)                                                                \
            fail_msg("%s: result %d, want FOUND", (path), (int)r_);                                \
        assert_ptr_equal((f)->m.ctx, CTX(id));                                                     \
        assert_non_null((f)->m.handler);                                                           \
    } while (0)

#define assert_route_result(f, method, path, want)                                                 \
    do {                                                                                           \
        enum http_route_result r_ = match((f), (method), (path));                                  \
        if (r_ != (want))                                                                          \
            fail_msg("%s: result %d, want %d", (path), (int)r_, (int)(want));                      \
    } while (0)

static void test_router_matches_literal_routes(void **state)
{
    struct fixture *f = *state;
    assert_found(f, HTTP_METHOD_GET, "/api/health", R_HEALTH);
    assert_ptr_equal(f->m.handler, handler_a);
    assert_int_equal(f->m.param_count, 0);
    assert_found(f, HTTP_METHOD_GET, "/", R_ROOT);
    assert_found(f, HTTP_METHOD_POST, "/post-only", R_POST_ONLY);
    assert_ptr_equal(f->m.handler, handler_b);
}

static void test_router_binds_params(void **state)
{
    struct fixture *f = *state;
    assert_found(f, HTTP_METHOD_GET, "/api/collections/posts/records", R_RECORDS_GET);
    assert_int_equal(f->m.param_count, 1);
    assert_slice_equal(f->m.params[0].name, "collection");
    assert_slice_equal(f->m.params[0].value, "posts");

    assert_found(f, HTTP_METHOD_GET, "/api/collections/posts/records/abc123", R_RECORD_GET);
    assert_int_equal(f->m.param_count, 2);
    assert_slice_equal(f->m.params[0].name, "collection");
    assert_slice_equal(f->m.params[0].value, "posts");
    assert_slice_equal(f->m.params[1].name, "id");
    assert_slice_equal(f->m.params[1].value, "abc123");

    assert_found(f, HTTP_METHOD_POST, "/api/collections/users/records", R_RECORDS_POST);
    assert_ptr_equal(f->m.handler, handler_b);
    assert_slice_equal(f->m.params[0].value, "users");
}

static void test_router_literal_beats_param_side_by_side(void **state)
{
    struct fixture *f = *state;
    assert_found(f, HTTP_METHOD_GET, "/api/collections/posts/records/stats", R_RECORDS_STATS);
    assert_int_equal(f->m.param_count, 1);
    assert_slice_equal(f->m.params[0].value, "posts");
    /* Near misses of the literal are parameters. */
    assert_found(f, HTTP_METHOD_GET, "/api/collections/posts/records/stat", R_RECORD_GET);
    assert_slice_equal(f->m.params[1].value, "stat");
    assert_found(f, HTTP_METHOD_GET, "/api/collections/posts/records/statss", R_RECORD_GET);
    assert_found(f, HTTP_METHOD_GET, "/api/collections/posts/records/Stats", R_RECORD_GET);
}

static void test_router_falls_back_to_param_when_literal_branch_fails(void **state)
{
    struct fixture *f = *state;
    /* "b" is a literal child of /a, but only /a/b/d exists under it. */
    assert_found(f, HTTP_METHOD_GET, "/a/b/c", R_A_PARAM_C);
    assert_int_equal(f->m.param_count, 1);
    assert_slice_equal(f->m.params[0].name, "x");
    assert_slice_equal(f->m.params[0].value, "b");
    assert_found(f, HTTP_METHOD_GET, "/a/b/d", R_A_B_D);
    assert_int_equal(f->m.param_count, 0);
    assert_found(f, HTTP_METHOD_GET, "/a/zz/c", R_A_PARAM_C);
    assert_route_result(f, HTTP_METHOD_GET, "/a/zz/d", HTTP_ROUTE_NOT_FOUND);
}

static void test_router_decodes_each_segment_on_its_own(void **state)
{
    struct fixture *f = *state;
    /* %2F stays inside its parameter instead of splitting the path. */
    assert_found(f, HTTP_METHOD_GET, "/api/collections/a%2Fb/records/x%20y", R_RECORD_GET);
    assert_int_equal(f->m.param_count, 2);
    assert_slice_equal(f->m.params[0].value, "a/b");
    assert_slice_equal(f->m.params[1].value, "x y");

    assert_found(f, HTTP_METHOD_GET, "/api/collections/%2F/records", R_RECORDS_GET);
    assert_slice_equal(f->m.params[0].value, "/");

    /* UTF-8 escapes decode to their bytes. */
    assert_found(f, HTTP_METHOD_GET, "/plus/caf%C3%A9", R_PLUS);
    assert_slice_equal(f->m.params[0].value, "caf\xc3\xa9");
}

static void test_router_keeps_plus_in_path(void **state)
{
    struct fixture *f = *state;
    /* '+' means a space only in a query string. */
    assert_found(f, HTTP_METHOD_GET, "/plus/a+b", R_PLUS);
    assert_slice_equal(f->m.params[0].value, "a+b");
    assert_found(f, HTTP_METHOD_GET, "/plus/a%2Bb", R_PLUS);
    assert_slice_equal(f->m.params[0].value, "a+b");
}

static void test_router_encoded_nul_is_bad_path(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections/a%00b/records", HTTP_ROUTE_BAD_PATH);
    assert_route_result(f, HTTP_METHOD_GET, "/plus/%00", HTTP_ROUTE_BAD_PATH);
    assert_null(f->m.handler);
}

static void test_router_bad_escape_is_bad_path(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_GET, "/plus/%zz", HTTP_ROUTE_BAD_PATH);
    assert_route_result(f, HTTP_METHOD_GET, "/plus/abc%", HTTP_ROUTE_BAD_PATH);
    assert_route_result(f, HTTP_METHOD_GET, "/plus/abc%4", HTTP_ROUTE_BAD_PATH);
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections/%g1/records/1", HTTP_ROUTE_BAD_PATH);
    assert_null(f->m.handler);
}

static void test_router_trailing_slash_is_not_found(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_GET, "/api/health/", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections/posts/records/",
                        HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/plus/x/", HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(f->m.allowed, 0);
}

static void test_router_empty_segments_are_not_found(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_GET, "//api/health", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api//health", HTTP_ROUTE_NOT_FOUND);
    /* An empty segment never fills a parameter. */
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections//records", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/plus/", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "//", HTTP_ROUTE_NOT_FOUND);
}

static void test_router_unknown_paths_are_not_found(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_GET, "/nope", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections/posts", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api/collections/posts/records/1/more",
                        HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/API/health", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/api/healthz", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "api/health", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "", HTTP_ROUTE_NOT_FOUND);
    assert_null(f->m.handler);
    assert_int_equal(f->m.allowed, 0);
}

static void test_router_wrong_method_is_405_with_allowed_methods(void **state)
{
    struct fixture *f = *state;
    char allow[64];
    assert_route_result(f, HTTP_METHOD_DELETE, "/api/collections/posts/records",
                        HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_null(f->m.handler);
    assert_int_equal(f->m.allowed,
                     BIT(HTTP_METHOD_GET) | BIT(HTTP_METHOD_HEAD) | BIT(HTTP_METHOD_POST));
    size_t n = http_router_format_allow(f->m.allowed, allow);
    assert_int_equal(n, strlen("GET, HEAD, POST"));
    assert_string_equal(allow, "GET, HEAD, POST");

    assert_route_result(f, HTTP_METHOD_POST, "/api/collections/posts/records/1",
                        HTTP_ROUTE_METHOD_NOT_ALLOWED);
    http_router_format_allow(f->m.allowed, allow);
    assert_string_equal(allow, "GET, HEAD, PATCH, DELETE");

    assert_route_result(f, HTTP_METHOD_GET, "/post-only", HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_int_equal(f->m.allowed, BIT(HTTP_METHOD_POST));
    http_router_format_allow(f->m.allowed, allow);
    assert_string_equal(allow, "POST");
}

static void test_router_head_is_served_by_get(void **state)
{
    struct fixture *f = *state;
    assert_found(f, HTTP_METHOD_HEAD, "/api/health", R_HEALTH);
    assert_ptr_equal(f->m.handler, handler_a);
    assert_found(f, HTTP_METHOD_HEAD, "/api/collections/posts/records/7", R_RECORD_GET);
    assert_slice_equal(f->m.params[1].value, "7");
    /* An explicit HEAD route wins over GET. */
    assert_found(f, HTTP_METHOD_HEAD, "/head", R_HEAD_HEAD);
    assert_found(f, HTTP_METHOD_GET, "/head", R_HEAD_GET);
}

static void test_router_head_without_get_is_405(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_HEAD, "/post-only", HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_int_equal(f->m.allowed, BIT(HTTP_METHOD_POST));
}

static void test_router_unroutable_method_is_405(void **state)
{
    struct fixture *f = *state;
    assert_route_result(f, HTTP_METHOD_OTHER, "/api/health", HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_int_equal(f->m.allowed, BIT(HTTP_METHOD_GET) | BIT(HTTP_METHOD_HEAD));
    assert_route_result(f, HTTP_METHOD_OPTIONS, "/api/health", HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_route_result(f, HTTP_METHOD_PUT, "/api/health", HTTP_ROUTE_METHOD_NOT_ALLOWED);
}

static void test_router_binds_max_params(void **state)
{
    struct fixture *f = *state;
    assert_found(f, HTTP_METHOD_GET, "/deep/1/2/3/4/5/6/7/8", R_DEEP);
    assert_int_equal(f->m.param_count, HTTP_MAX_PARAMS);
    assert_slice_equal(f->m.params[0].name, "p1");
    assert_slice_equal(f->m.params[0].value, "1");
    assert_slice_equal(f->m.params[7].name, "p8");
    assert_slice_equal(f->m.params[7].value, "8");
    assert_route_result(f, HTTP_METHOD_GET, "/deep/1/2/3/4/5/6/7", HTTP_ROUTE_NOT_FOUND);
    assert_route_result(f, HTTP_METHOD_GET, "/deep/1/2/3/4/5/6/7/8/9", HTTP_ROUTE_NOT_FOUND);
}

static void test_router_format_allow_lists_methods_in_fixed_order(void **state)
{
    char out[64];
    memset(out, 'x', sizeof(out));
    assert_int_equal(http_router_format_allow(0, out), 0);
    assert_string_equal(out, "");

    unsigned all = 0;
    for (int m = 0; m < HTTP_METHOD_OTHER; m++)
        all |= BIT(m);
    size_t n = http_router_format_allow(all, out);
    assert_string_equal(out, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    assert_int_equal(n, strlen(out));

    /* The OTHER bit has no name to list. */
    http_router_format_allow(BIT(HTTP_METHOD_OTHER) | BIT(HTTP_METHOD_DELETE), out);
    assert_string_equal(out, "DELETE");
    http_router_format_allow(BIT(HTTP_METHOD_POST) | BIT(HTTP_METHOD_GET), out);
    assert_string_equal(out, "GET, POST");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_router_matches_literal_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_binds_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_literal_beats_param_side_by_side, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_falls_back_to_param_when_literal_branch_fails,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_decodes_each_segment_on_its_own, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_keeps_plus_in_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_encoded_nul_is_bad_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_bad_escape_is_bad_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_trailing_slash_is_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_empty_segments_are_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_unknown_paths_are_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_wrong_method_is_405_with_allowed_methods, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_router_head_is_served_by_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_head_without_get_is_405, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_unroutable_method_is_405, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_binds_max_params, setup, teardown),
        cmocka_unit_test(test_router_format_allow_lists_methods_in_fixed_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
