/* test_realtime.c -- unit tests of core/realtime/realtime.h on a real data
 * directory and a worker loop: which subscriptions an event matches (by
 * collection name or id, by record id), the rule each topic kind checks
 * (list for "*", view for a record), rules on the client's identity, the
 * client's filter and fields options, hidden fields, identities dropped
 * when their record goes, the subscribe checks (unknown client, other IP,
 * another live identity, per-client and per-IP caps), and a committed write
 * publishing while a failed one does not. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core_fixture.h"
#include "core/realtime/realtime.h"
#include "net/mailbox.h"

#define IP "10.0.0.1"
#define USER_A "ua0000000000000"
#define USER_B "ub0000000000000"
#define ROOT "su0000000000000"

struct inbox {
    json_t *msgs; /* [{"topic": ..., "data": {...}}] */
};

struct rt {
    struct fixture fx;
    uv_loop_t loop;
    struct net_mailbox *mb;
    struct core_worker cw;
    struct core_rt_client *clients[8];
    struct inbox inboxes[8];
    size_t client_count;
};

static void deliver(void *ctx, struct str topic, struct str data)
{
    struct inbox *in = ctx;
    json_t *d = json_loadb(data.ptr, data.len, 0, NULL);
    assert_non_null(d);
    json_array_append_new(in->msgs,
                          json_pack("{s:s%, s:o}", "topic", topic.ptr, topic.len, "data", d));
}

static void must_schema(struct core_app *app, const char *text)
{
    xfree(fixture_schema_ok(app, CORE_SCHEMA_CREATE, text, NULL));
}

static int setup(void **state)
{
    struct rt *t = xcalloc(1, sizeof(*t));
    fixture_open(&t->fx);
    struct core_app *app = t->fx.app;
    must_schema(app, "{\"name\":\"posts\",\"listRule\":\"\",\"viewRule\":\"status = 'public'\","
                     "\"fields\":[{\"name\":\"title\",\"type\":\"text\"},"
                     "{\"name\":\"status\",\"type\":\"text\"},"
                     "{\"name\":\"views\",\"type\":\"number\"},"
                     "{\"name\":\"note\",\"type\":\"text\",\"hidden\":true}]}");
    must_schema(app, "{\"name\":\"diary\",\"listRule\":\"owner = @request.auth.id\","
                     "\"viewRule\":\"owner = @request.auth.id\",\"fields\":[{\"name\":\"owner\","
                     "\"type\":\"relation\",\"collectionId\":\"users\"},{\"name\":\"text\","
                     "\"type\":\"text\"}]}");
    must_schema(app, "{\"name\":\"locked\",\"fields\":[{\"name\":\"text\",\"type\":\"text\"}]}");
    assert_int_equal(fixture_insert(app, "users",
                                    "{\"id\":\"" USER_A
                                    "\",\"email\":\"a@x.io\",\"tokenKey\":\"tka\"}"),
                     RC_OK);
    assert_int_equal(fixture_insert(app, "users",
                                    "{\"id\":\"" USER_B
                                    "\",\"email\":\"b@x.io\",\"tokenKey\":\"tkb\"}"),
                     RC_OK);
    assert_int_equal(fixture_insert(app, "_superusers",
                                    "{\"id\":\"" ROOT
                                    "\",\"email\":\"r@x.io\",\"tokenKey\":\"tkr\"}"),
                     RC_OK);
    assert_int_equal(uv_loop_init(&t->loop), 0);
    t->mb = net_mailbox_new(&t->loop);
    assert_int_equal(core_worker_init(&t->cw, app, t->mb), RC_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct rt *t = *state;
    for (size_t i = 0; i < t->client_count; i++) {
        if (t->clients[i])
            core_realtime_disconnect(t->clients[i]);
        json_decref(t->inboxes[i].msgs);
    }
    core_worker_stop(&t->cw);
    core_worker_cleanup(&t->cw);
    net_mailbox_close(t->mb);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    fixture_close(&t->fx);
    xfree(t);
    return 0;
}

/* A new client from ip; returns its index (its inbox has the same). */
static size_t connect_from(struct rt *t, const char *ip)
{
    size_t i = t->client_count++;
    assert_true(i < 8);
    t->inboxes[i].msgs = json_array();
    t->clients[i] = core_realtime_connect(&t->cw, ip, deliver, &t->inboxes[i]);
    assert_non_null(t->clients[i]);
    return i;
}

/* The requester for user id of collection name (its tokenKey as stored). */
static struct core_auth auth_of(struct rt *t, const char *collection, const char *id)
{
    struct core_auth a = {0};
    a.collection = fixture_collection(t->fx.app, collection);
    a.record = fixture_load(t->fx.app, collection, id);
    assert_non_null(a.record);
    a.id = json_string_value(json_object_get(a.record, "id"));
    a.is_superuser = strcmp(collection, "_superusers") == 0;
    return a;
}

/* Subscribes client i (as auth, NULL for a guest) to the JSON list subs. */
static enum rc subscribe(struct rt *t, size_t i, const struct core_auth *auth, const char *subs)
{
    static const struct core_auth guest = {0};
    json_t *list = json_loads(subs, JSON_DECODE_ANY, NULL);
    assert_non_null(list);
    struct core_problem p;
    core_problem_init(&p);
    enum rc rc =
        core_realtime_subscribe(&t->cw, t->clients[i]->id, IP, auth ? auth : &guest, list, &p);
    core_problem_cleanup(&p);
    json_decref(list);
    return rc;
}

/* Subscribes client i as a guest to topic?options=<options, urlencoded>, as
 * the SDK sends a subscription's options (spec §7.3). */
static enum rc subscribe_with_options(struct rt *t, size_t i, const char *topic,
                                      const char *options)
{
    static const char hex[] = "0123456789ABCDEF";
    char subs[512];
    size_t n = (size_t)snprintf(subs, sizeof(subs), "[\"%s?options=", topic);
    for (const char *o = options; *o; o++) {
        unsigned char ch = (unsigned char)*o;
        assert_true(n + 6 < sizeof(subs));
        if (isalnum(ch)) {
            subs[n++] = (char)ch;
        } else {
            subs[n++] = '%';
            subs[n++] = hex[ch >> 4];
            subs[n++] = hex[ch & 15];
        }
    }
    memcpy(subs + n, "\"]", 3);
    return subscribe(t, i, NULL, subs);
}

static void pump(struct rt *t)
{
    while (core_realtime_is_busy(&t->cw))
        uv_run(&t->loop, UV_RUN_ONCE);
}

/* Emits a made-up committed event of collection name with values (JSON
 * text) on the app's event bus, where app.c registered realtime. */
static void publish(struct rt *t, const char *action, const char *collection, const char *values)
{
    json_t *v = json_loads(values, 0, NULL);
    assert_non_null(v);
    enum core_event_action a = strcmp(action, "create") == 0   ? CORE_EVENT_CREATE
                               : strcmp(action, "update") == 0 ? CORE_EVENT_UPDATE
                                                               : CORE_EVENT_DELETE;
    struct core_event *ev =
        core_event_new(a, core_app_schema(t->fx.app), fixture_collection(t->fx.app, collection), v);
    json_decref(v);
    core_event_emit(&t->fx.app->events, ev);
    pump(t);
}

static size_t count(struct rt *t, size_t i)
{
    return json_array_size(t->inboxes[i].msgs);
}

static json_t *msg(struct rt *t, size_t i, size_t k)
{
    json_t *m = json_array_get(t->inboxes[i].msgs, k);
    assert_non_null(m);
    return m;
}

static const char *msg_topic(struct rt *t, size_t i, size_t k)
{
    return json_string_value(json_object_get(msg(t, i, k), "topic"));
}

static json_t *msg_record(struct rt *t, size_t i, size_t k)
{
    return json_object_get(json_object_get(msg(t, i, k), "data"), "record");
}

static const char PUBLIC_POST[] =
    "{\"id\":\"p1aaaaaaaaaaaaa\",\"title\":\"hello\",\"status\":\"public\",\"views\":7,"
    "\"note\":\"psst\"}";
static const char DRAFT_POST[] =
    "{\"id\":\"p2aaaaaaaaaaaaa\",\"title\":\"soon\",\"status\":\"draft\",\"views\":1,"
    "\"note\":\"\"}";

/* ---- matching ----------------------------------------------------------- */

static void test_wildcard_topic_gets_each_event_of_its_collection(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(subscribe(t, c, NULL, "[\"posts/*\"]"), RC_OK);
    publish(t, "create", "posts", PUBLIC_POST);
    publish(t, "update", "posts", DRAFT_POST);
    publish(t, "create", "locked", "{\"id\":\"l1aaaaaaaaaaaaa\",\"text\":\"x\"}");
    assert_int_equal(count(t, c), 2);
    assert_string_equal(msg_topic(t, c, 0), "posts/*");
    json_t *data = json_object_get(msg(t, c, 0), "data");
    assert_string_equal(json_string_value(json_object_get(data, "action")), "create");
    json_t *rec = msg_record(t, c, 0);
    assert_string_equal(json_string_value(json_object_get(rec, "id")), "p1aaaaaaaaaaaaa");
    assert_string_equal(json_string_value(json_object_get(rec, "title")), "hello");
    assert_string_equal(json_string_value(json_object_get(rec, "collectionName")), "posts");
    assert_string_equal(json_string_value(json_object_get(rec, "collectionId")), "pbc_1125843985");
    assert_int_equal(json_integer_value(json_object_get(rec, "views")), 7);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(msg(t, c, 1), "data"), "action")),
        "update");
}

static void test_topic_may_name_the_collection_by_id_and_bare(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(subscribe(t, c, NULL, "[\"pbc_1125843985/*\",\"posts\"]"), RC_OK);
    publish(t, "create", "posts", PUBLIC_POST);
    assert_int_equal(count(t, c), 2);
    assert_string_equal(msg_topic(t, c, 0), "pbc_1125843985/*");
    assert_string_equal(msg_topic(t, c, 1), "posts");
}

static void test_record_topic_gets_only_its_record_under_the_view_rule(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(subscribe(t, c, NULL, "[\"posts/p1aaaaaaaaaaaaa\",\"posts/p2aaaaaaaaaaaaa\"]"),
                     RC_OK);
    publish(t, "update", "posts", PUBLIC_POST);
    /* p2 is a draft: the view rule hides it, the list rule ("") would not. */
    publish(t, "update", "posts", DRAFT_POST);
    assert_int_equal(count(t, c), 1);
    assert_string_equal(msg_topic(t, c, 0), "posts/p1aaaaaaaaaaaaa");
    size_t all = connect_from(t, IP);
    assert_int_equal(subscribe(t, all, NULL, "[\"posts/*\"]"), RC_OK);
    publish(t, "update", "posts", DRAFT_POST);
    assert_int_equal(count(t, all), 1);
    assert_int_equal(count(t, c), 1);
}

static void test_superusers_only_collection_reaches_only_superusers(void **state)
{
    struct rt *t = *state;
    size_t guest = connect_from(t, IP);
    size_t user = connect_from(t, IP);
    size_t root = connect_from(t, IP);
    struct core_auth a = auth_of(t, "users", USER_A);
    struct core_auth r = auth_of(t, "_superusers", ROOT);
    assert_int_equal(subscribe(t, guest, NULL, "[\"locked/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, user, &a, "[\"locked/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, root, &r, "[\"locked/*\"]"), RC_OK);
    publish(t, "create", "locked", "{\"id\":\"l1aaaaaaaaaaaaa\",\"text\":\"x\"}");
    assert_int_equal(count(t, guest), 0);
    assert_int_equal(count(t, user), 0);
    assert_int_equal(count(t, root), 1);
    assert_string_equal(json_string_value(json_object_get(msg_record(t, root, 0), "text")), "x");
    core_auth_cleanup(&a);
    core_auth_cleanup(&r);
}

static void test_hidden_fields_reach_only_superusers(void **state)
{
    struct rt *t = *state;
    size_t guest = connect_from(t, IP);
    size_t root = connect_from(t, IP);
    struct core_auth r = auth_of(t, "_superusers", ROOT);
    assert_int_equal(subscribe(t, guest, NULL, "[\"posts/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, root, &r, "[\"posts/*\"]"), RC_OK);
    publish(t, "create", "posts", PUBLIC_POST);
    assert_null(json_object_get(msg_record(t, guest, 0), "note"));
    assert_string_equal(json_string_value(json_object_get(msg_record(t, root, 0), "note")), "psst");
    core_auth_cleanup(&r);
}

static void test_rule_on_the_identity_sends_each_user_only_their_records(void **state)
{
    struct rt *t = *state;
    size_t ca = connect_from(t, IP);
    size_t cb = connect_from(t, IP);
    size_t guest = connect_from(t, IP);
    struct core_auth a = auth_of(t, "users", USER_A);
    struct core_auth b = auth_of(t, "users", USER_B);
    assert_int_equal(subscribe(t, ca, &a, "[\"diary/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, cb, &b, "[\"diary/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, guest, NULL, "[\"diary/*\"]"), RC_OK);
    publish(t, "create", "diary",
            "{\"id\":\"d1aaaaaaaaaaaaa\",\"owner\":\"" USER_A "\",\"text\":\"mine\"}");
    publish(t, "create", "diary",
            "{\"id\":\"d2aaaaaaaaaaaaa\",\"owner\":\"" USER_B "\",\"text\":\"b's\"}");
    assert_int_equal(count(t, ca), 1);
    assert_string_equal(json_string_value(json_object_get(msg_record(t, ca, 0), "id")),
                        "d1aaaaaaaaaaaaa");
    assert_int_equal(count(t, cb), 1);
    assert_string_equal(json_string_value(json_object_get(msg_record(t, cb, 0), "id")),
                        "d2aaaaaaaaaaaaa");
    assert_int_equal(count(t, guest), 0);
    core_auth_cleanup(&a);
    core_auth_cleanup(&b);
}

static void test_identity_whose_record_is_gone_is_checked_as_a_guest(void **state)
{
    struct rt *t = *state;
    size_t ca = connect_from(t, IP);
    struct core_auth a = auth_of(t, "users", USER_A);
    assert_int_equal(subscribe(t, ca, &a, "[\"diary/*\"]"), RC_OK);
    core_auth_cleanup(&a);
    struct core_write_job del = {.kind = CORE_WRITE_DELETE,
                                 .schema = core_app_schema(t->fx.app),
                                 .c = fixture_collection(t->fx.app, "users"),
                                 .id = xstrdup(USER_A)};
    core_problem_init(&del.problem);
    assert_int_equal(core_record_run(t->fx.app->writer, &del), RC_OK);
    core_write_job_cleanup(&del);
    publish(t, "create", "diary",
            "{\"id\":\"d1aaaaaaaaaaaaa\",\"owner\":\"" USER_A "\",\"text\":\"x\"}");
    assert_int_equal(count(t, ca), 0);
}

static void test_filter_option_narrows_what_a_client_gets(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(
        subscribe_with_options(t, c, "posts/*", "{\"query\":{\"filter\":\"views > 5\"}}"), RC_OK);
    publish(t, "create", "posts", PUBLIC_POST); /* views 7 */
    publish(t, "create", "posts", DRAFT_POST);  /* views 1 */
    assert_int_equal(count(t, c), 1);
    assert_string_equal(json_string_value(json_object_get(msg_record(t, c, 0), "id")),
                        "p1aaaaaaaaaaaaa");
    /* The topic is the raw subscription string. */
    assert_non_null(strstr(msg_topic(t, c, 0), "?options="));
}

static void test_guest_filter_naming_request_data_gets_nothing(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(subscribe_with_options(t, c, "posts/*",
                                            "{\"query\":{\"filter\":\"@request.auth.id = ''\"}}"),
                     RC_OK);
    publish(t, "create", "posts", PUBLIC_POST);
    assert_int_equal(count(t, c), 0);
}

static void test_fields_option_prunes_the_record(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(
        subscribe_with_options(t, c, "posts/*", "{\"query\":{\"fields\":\"id,title\"}}"), RC_OK);
    publish(t, "create", "posts", PUBLIC_POST);
    assert_int_equal(count(t, c), 1);
    json_t *rec = msg_record(t, c, 0);
    assert_int_equal(json_object_size(rec), 2);
    assert_string_equal(json_string_value(json_object_get(rec, "title")), "hello");
}

static void test_delete_event_carries_the_record_as_it_was(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(subscribe(t, c, NULL, "[\"posts/p1aaaaaaaaaaaaa\"]"), RC_OK);
    publish(t, "delete", "posts", PUBLIC_POST);
    assert_int_equal(count(t, c), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(msg(t, c, 0), "data"), "action")),
        "delete");
    assert_string_equal(json_string_value(json_object_get(msg_record(t, c, 0), "title")), "hello");
}

static void test_client_without_subscriptions_gets_nothing(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    size_t cleared = connect_from(t, IP);
    assert_int_equal(subscribe(t, cleared, NULL, "[\"posts/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, cleared, NULL, "[]"), RC_OK);
    publish(t, "create", "posts", PUBLIC_POST);
    assert_int_equal(count(t, c), 0);
    assert_int_equal(count(t, cleared), 0);
}

static void test_publish_without_clients_drops_the_events(void **state)
{
    struct rt *t = *state;
    assert_int_equal(core_realtime_client_count(t->fx.app->realtime), 0);
    publish(t, "create", "posts", PUBLIC_POST); /* ASan: nothing leaks */
    assert_false(core_realtime_is_busy(&t->cw));
}

/* ---- writes publish after their commit ---------------------------------- */

static void write_done(struct core_write_job *job)
{
    *(bool *)job->ctx = true;
}

static enum rc submit_create(struct rt *t, const char *values)
{
    bool is_done = false;
    struct core_write_job job = {.kind = CORE_WRITE_CREATE,
                                 .schema = core_app_schema(t->fx.app),
                                 .c = fixture_collection(t->fx.app, "posts"),
                                 .values = json_loads(values, 0, NULL),
                                 .done = write_done,
                                 .ctx = &is_done};
    job.id = xstrdup(json_string_value(json_object_get(job.values, "id")));
    core_problem_init(&job.problem);
    core_record_submit(&t->cw, &job);
    while (!is_done)
        uv_run(&t->loop, UV_RUN_ONCE);
    pump(t);
    enum rc rc = job.rc;
    core_write_job_cleanup(&job);
    return rc;
}

static void test_committed_write_is_published_and_a_failed_one_is_not(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    assert_int_equal(subscribe(t, c, NULL, "[\"posts/*\"]"), RC_OK);
    assert_int_equal(submit_create(t, PUBLIC_POST), RC_OK);
    assert_int_equal(count(t, c), 1);
    assert_string_equal(json_string_value(json_object_get(msg_record(t, c, 0), "title")), "hello");
    /* The same id again: the write fails, nothing is announced. */
    assert_int_equal(submit_create(t, PUBLIC_POST), RC_INVALID);
    assert_int_equal(count(t, c), 1);
}

/* ---- subscribe checks --------------------------------------------------- */

static void test_subscribe_refuses_unknown_clients_and_other_addresses(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    json_t *list = json_loads("[\"posts/*\"]", 0, NULL);
    struct core_problem p;
    core_problem_init(&p);
    static const struct core_auth guest = {0};
    assert_int_equal(core_realtime_subscribe(&t->cw, "nosuchclient", IP, &guest, list, &p),
                     RC_NOT_FOUND);
    assert_int_equal(
        core_realtime_subscribe(&t->cw, t->clients[c]->id, "10.9.9.9", &guest, list, &p),
        RC_CONFLICT);
    json_t *bad = json_loads("[\"posts/*\", 5]", 0, NULL);
    assert_int_equal(core_realtime_subscribe(&t->cw, t->clients[c]->id, IP, &guest, bad, &p),
                     RC_INVALID);
    json_decref(bad);
    json_decref(list);
    core_problem_cleanup(&p);
}

static void test_another_identity_is_refused_while_the_stored_one_lives(void **state)
{
    struct rt *t = *state;
    size_t c = connect_from(t, IP);
    struct core_auth a = auth_of(t, "users", USER_A);
    struct core_auth b = auth_of(t, "users", USER_B);
    assert_int_equal(subscribe(t, c, NULL, "[\"posts/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, c, &a, "[\"diary/*\"]"), RC_OK); /* a guest is upgraded */
    assert_int_equal(subscribe(t, c, &b, "[\"diary/*\"]"), RC_FORBIDDEN);
    assert_int_equal(subscribe(t, c, NULL, "[\"diary/*\"]"), RC_FORBIDDEN);
    assert_int_equal(subscribe(t, c, &a, "[\"diary/*\"]"), RC_OK);
    /* Once A's record is gone, B may take the client over. */
    struct core_write_job del = {.kind = CORE_WRITE_DELETE,
                                 .schema = core_app_schema(t->fx.app),
                                 .c = fixture_collection(t->fx.app, "users"),
                                 .id = xstrdup(USER_A)};
    core_problem_init(&del.problem);
    assert_int_equal(core_record_run(t->fx.app->writer, &del), RC_OK);
    core_write_job_cleanup(&del);
    assert_int_equal(subscribe(t, c, &b, "[\"diary/*\"]"), RC_OK);
    publish(t, "create", "diary",
            "{\"id\":\"d2aaaaaaaaaaaaa\",\"owner\":\"" USER_B "\",\"text\":\"b\"}");
    assert_int_equal(count(t, c), 1);
    core_auth_cleanup(&a);
    core_auth_cleanup(&b);
}

static void test_subscription_caps_per_client_and_per_address(void **state)
{
    struct rt *t = *state;
    t->fx.app->limits.realtime_max_subs = 2;
    t->fx.app->limits.realtime_max_subs_ip = 3;
    size_t c1 = connect_from(t, IP);
    size_t c2 = connect_from(t, IP);
    size_t other = connect_from(t, "10.0.0.2");
    json_t *three = json_loads("[\"posts/*\",\"diary/*\",\"locked/*\"]", 0, NULL);
    struct core_problem p;
    core_problem_init(&p);
    static const struct core_auth guest = {0};
    assert_int_equal(core_realtime_subscribe(&t->cw, t->clients[c1]->id, IP, &guest, three, &p),
                     RC_INVALID);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(p.data, "subscriptions"), "code")),
        "validation_length_too_long");
    core_problem_cleanup(&p);
    json_decref(three);
    assert_int_equal(subscribe(t, c1, NULL, "[\"posts/*\",\"diary/*\"]"), RC_OK);
    /* 2 + 2 > 3 for this address; another address has its own count. */
    assert_int_equal(subscribe(t, c2, NULL, "[\"posts/*\",\"diary/*\"]"), RC_RATE_LIMITED);
    assert_int_equal(subscribe(t, c2, NULL, "[\"posts/*\"]"), RC_OK);
    json_t *two = json_loads("[\"posts/*\",\"diary/*\"]", 0, NULL);
    core_problem_init(&p);
    assert_int_equal(
        core_realtime_subscribe(&t->cw, t->clients[other]->id, "10.0.0.2", &guest, two, &p), RC_OK);
    core_problem_cleanup(&p);
    json_decref(two);
    /* A smaller or equal list always passes; a client's leaving frees its share. */
    assert_int_equal(subscribe(t, c1, NULL, "[\"locked/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, c2, NULL, "[\"posts/*\",\"diary/*\"]"), RC_OK);
    assert_int_equal(subscribe(t, c1, NULL, "[\"locked/*\",\"posts/*\"]"), RC_RATE_LIMITED);
    core_realtime_disconnect(t->clients[c2]);
    t->clients[c2] = NULL;
    assert_int_equal(subscribe(t, c1, NULL, "[\"locked/*\",\"posts/*\"]"), RC_OK);
    assert_int_equal(core_realtime_client_count(t->fx.app->realtime), 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_wildcard_topic_gets_each_event_of_its_collection),
        T(test_topic_may_name_the_collection_by_id_and_bare),
        T(test_record_topic_gets_only_its_record_under_the_view_rule),
        T(test_superusers_only_collection_reaches_only_superusers),
        T(test_hidden_fields_reach_only_superusers),
        T(test_rule_on_the_identity_sends_each_user_only_their_records),
        T(test_identity_whose_record_is_gone_is_checked_as_a_guest),
        T(test_filter_option_narrows_what_a_client_gets),
        T(test_guest_filter_naming_request_data_gets_nothing),
        T(test_fields_option_prunes_the_record),
        T(test_delete_event_carries_the_record_as_it_was),
        T(test_client_without_subscriptions_gets_nothing),
        T(test_publish_without_clients_drops_the_events),
        T(test_committed_write_is_published_and_a_failed_one_is_not),
        T(test_subscribe_refuses_unknown_clients_and_other_addresses),
        T(test_another_identity_is_refused_while_the_stored_one_lives),
        T(test_subscription_caps_per_client_and_per_address),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
