/* test_event.c -- unit tests of core/event/event.h: events (action names, the
 * id taken from the values, reference counts) and the bus (listeners in
 * registration order, wants, emit order, a full table, a NULL bus). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/event/event.h"

static struct core_collection posts = {.id = "pbc_posts", .name = "posts"};

static struct core_event *make(enum core_event_action action, const char *id)
{
    json_t *values = json_pack("{s:s, s:s}", "id", id, "title", "hello");
    struct core_event *ev = core_event_new(action, NULL, &posts, values);
    json_decref(values); /* the event holds its own reference */
    return ev;
}

/* What a test listener saw: the calls in order, as "<listener><action>:<id>". */
struct seen {
    char log[256];
    bool wants;
    struct core_event *kept; /* a listener that keeps its event takes a reference */
};

static void note(struct seen *s, char who, struct core_event *ev)
{
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof(s->log) - n, "%c%s:%s ", who, core_event_action_name(ev->action),
             ev->id);
}

static void on_a(void *ctx, struct core_event *ev)
{
    assert_null(ev->next); /* a listener sees one event, not the write's list */
    note(ctx, 'a', ev);
}

static void on_b(void *ctx, struct core_event *ev)
{
    note(ctx, 'b', ev);
}

static void on_keep(void *ctx, struct core_event *ev)
{
    struct seen *s = ctx;
    if (!s->kept) {
        core_event_ref(ev);
        s->kept = ev;
    }
}

static bool wants(void *ctx, const struct core_collection *c)
{
    (void)c;
    return ((struct seen *)ctx)->wants;
}

static void test_event_names_and_id(void **state)
{
    (void)state;
    assert_string_equal(core_event_action_name(CORE_EVENT_CREATE), "create");
    assert_string_equal(core_event_action_name(CORE_EVENT_UPDATE), "update");
    assert_string_equal(core_event_action_name(CORE_EVENT_DELETE), "delete");
    struct core_event *ev = make(CORE_EVENT_UPDATE, "abc123");
    assert_string_equal(ev->id, "abc123");
    assert_ptr_equal(ev->c, &posts);
    assert_string_equal(json_string_value(json_object_get(ev->values, "title")), "hello");
    core_event_list_free(ev);
    json_t *no_id = json_object();
    ev = core_event_new(CORE_EVENT_DELETE, NULL, &posts, no_id);
    json_decref(no_id);
    assert_string_equal(ev->id, "");
    core_event_list_free(ev);
}

static void test_emit_calls_listeners_in_order(void **state)
{
    (void)state;
    struct seen s = {.wants = true};
    struct core_event_bus bus = {0};
    struct core_event_listener a = {.on_commit = on_a, .ctx = &s};
    struct core_event_listener b = {.wants = wants, .on_commit = on_b, .ctx = &s};
    assert_int_equal(core_event_listen(&bus, &a), RC_OK);
    assert_int_equal(core_event_listen(&bus, &b), RC_OK);
    /* A write's list: the order it was built in is the order emitted. */
    struct core_event *list = make(CORE_EVENT_DELETE, "r2");
    list->next = make(CORE_EVENT_CREATE, "r1");
    core_event_emit(&bus, list);
    assert_string_equal(s.log, "adelete:r2 bdelete:r2 acreate:r1 bcreate:r1 ");
}

static void test_is_wanted(void **state)
{
    (void)state;
    struct seen s = {.wants = false};
    struct core_event_bus bus = {0};
    assert_false(core_event_is_wanted(NULL, &posts));
    assert_false(core_event_is_wanted(&bus, &posts)); /* nobody listens */
    struct core_event_listener b = {.wants = wants, .on_commit = on_b, .ctx = &s};
    core_event_listen(&bus, &b);
    assert_false(core_event_is_wanted(&bus, &posts));
    s.wants = true;
    assert_true(core_event_is_wanted(&bus, &posts));
    s.wants = false;
    struct core_event_listener always = {.on_commit = on_a, .ctx = &s};
    core_event_listen(&bus, &always);
    assert_true(core_event_is_wanted(&bus, &posts)); /* no wants function: always */
}

static void test_listener_keeps_a_reference(void **state)
{
    (void)state;
    struct seen s = {0};
    struct core_event_bus bus = {0};
    struct core_event_listener k = {.on_commit = on_keep, .ctx = &s};
    core_event_listen(&bus, &k);
    core_event_emit(&bus, make(CORE_EVENT_CREATE, "kept"));
    assert_non_null(s.kept);
    assert_int_equal(atomic_load(&s.kept->refs), 1); /* the emitter dropped its own */
    assert_string_equal(s.kept->id, "kept");
    core_event_unref(s.kept); /* ASan reports a leak or a double free here */
}

static void test_full_table_and_null_bus(void **state)
{
    (void)state;
    struct seen s = {0};
    struct core_event_bus bus = {0};
    struct core_event_listener a = {.on_commit = on_a, .ctx = &s};
    for (int i = 0; i < CORE_EVENT_MAX_LISTENERS; i++)
        assert_int_equal(core_event_listen(&bus, &a), RC_OK);
    assert_int_equal(core_event_listen(&bus, &a), RC_TOO_LARGE);
    assert_int_equal(bus.count, CORE_EVENT_MAX_LISTENERS);
    core_event_emit(NULL, make(CORE_EVENT_CREATE, "x")); /* freed, nobody called */
    core_event_emit(&bus, NULL);
    assert_string_equal(s.log, "");
}

/* In-transaction listeners: each event of the list in order, only the
 * listeners that have in_tx, the first failure stops; a listener with only
 * in_tx is skipped by emit. */
static enum rc in_tx_note(void *ctx, struct store_conn *db, const struct core_event *ev)
{
    (void)db;
    struct seen *s = ctx;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof(s->log) - n, "t%s ", ev->id);
    return strcmp(ev->id, "bad") == 0 ? RC_CONFLICT : RC_OK;
}

static void test_in_tx_listeners(void **state)
{
    (void)state;
    struct core_event_bus bus = {0};
    struct seen s = {0}, a = {0};
    struct core_event_listener lt = {.in_tx = in_tx_note, .ctx = &s};
    struct core_event_listener la = {.on_commit = on_a, .ctx = &a};
    assert_int_equal(core_event_listen(&bus, &la), RC_OK);
    assert_int_equal(core_event_listen(&bus, &lt), RC_OK);
    struct core_event *e1 = make(CORE_EVENT_CREATE, "r1");
    struct core_event *e2 = make(CORE_EVENT_UPDATE, "r2");
    e1->next = e2;
    assert_int_equal(core_event_in_tx(&bus, NULL, e1), RC_OK);
    assert_string_equal(s.log, "tr1 tr2 ");
    struct core_event *bad = make(CORE_EVENT_DELETE, "bad");
    e2->next = bad;
    s.log[0] = '\0';
    assert_int_equal(core_event_in_tx(&bus, NULL, e1), RC_CONFLICT);
    assert_string_equal(s.log, "tr1 tr2 tbad ");
    assert_int_equal(core_event_in_tx(NULL, NULL, e1), RC_OK);
    core_event_emit(&bus, e1); /* in_tx-only listener not called after the commit */
    assert_string_equal(a.log, "acreate:r1 aupdate:r2 adelete:bad ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_names_and_id),
        cmocka_unit_test(test_emit_calls_listeners_in_order),
        cmocka_unit_test(test_is_wanted),
        cmocka_unit_test(test_listener_keeps_a_reference),
        cmocka_unit_test(test_full_table_and_null_bus),
        cmocka_unit_test(test_in_tx_listeners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
