"""Scenarios: the request log (issue #15, item 2; PocketBase's apis/logs.go).

GET /api/logs, /api/logs/{id} and /api/logs/stats, superusers only. A
request is made with a marker in its URL; the scenarios find its entry by
filter (tarmac's filter language over id, created, level, message, data and
data.<path>), view it, count it in the hourly stats, and see the refusals:
an unknown field is a 400 naming it, never accepted and ignored. Retention
runs against a server of its own whose day lasts two seconds
(TARMAC_TEST_LOGS_DAY_MS).
"""

import time
import urllib.parse

from apilib import Scenario as S, want, short
from tarmac import Server

MARK = "logsmarker7q"


def q(s):
    return urllib.parse.quote(s, safe="")


def _made(ctx):
    """The marked failed request, once: its entry is written within ~100 ms."""
    if "log_marked" in ctx.vars:
        return
    ctx.call("GET", "/api/collections/%s/records?x=%%20y" % MARK,
             headers={"Referer": "http://ref.example/", "User-Agent": "logs-test/1"})
    ctx.call("GET", "/api/health")
    time.sleep(0.5)
    ctx.vars["log_marked"] = True


def _mark_filter():
    return "/api/logs?filter=" + q('data.url ~ "%s"' % MARK)


def _entry_of(ctx):
    r = ctx.must("GET", _mark_filter(), auth="su")
    want(len(r["items"]) == 1, "one marked entry, got %s" % short(r))
    return r["items"][0]


def _check_entry(e):
    want(set(e) == {"id", "created", "data", "message", "level"}, "keys %s" % sorted(e))
    want(e["level"] == 8, "a failed request is level 8 (error)")
    want(e["message"] == "GET /api/collections/%s/records?x= y" % MARK, "message %r" % e["message"])
    d = e["data"]
    want(d["type"] == "request" and d["method"] == "GET" and d["status"] == 404, short(d))
    want(d["url"] == "/api/collections/%s/records?x=%%20y" % MARK, "url %r" % d["url"])
    want(d["error"] == "The requested resource wasn't found.", "error %r" % d.get("error"))
    want(d["referer"] == "http://ref.example/" and d["userAgent"] == "logs-test/1", short(d))
    want(isinstance(d["execTime"], (int, float)) and d["execTime"] >= 0, "execTime")
    want(d["auth"] == "" and "authId" not in d, "a guest: auth \"\"")
    want(d["remoteIP"] and d["userIP"], "IPs kept by default")
    want(len(e["id"]) == 15 and len(e["created"]) == 24 and e["created"].endswith("Z"),
         "id and created %r %r" % (e["id"], e["created"]))


def _list(ctx, r):
    want(set(r.json) == {"items", "page", "perPage", "totalItems", "totalPages"}, short(r.json))
    want(r.json["totalItems"] == 1 and r.json["page"] == 1, short(r.json))
    _check_entry(r.json["items"][0])


def _view(ctx, r):
    _check_entry(r.json)


def _sorted(ctx, r):
    items = r.json["items"]
    want(len(items) == 2 and r.json["perPage"] == 2, short(r.json))
    want(items[0]["created"] >= items[1]["created"], "newest first")


def _stats(ctx, r):
    want(isinstance(r.json, list) and r.json, short(r.json))
    for s in r.json:
        want(set(s) == {"total", "date"} and s["date"].endswith(":00:00.000Z"), short(s))
    want(sum(s["total"] for s in r.json) == 1, "one marked entry in the stats")


def _no_reads_logged(ctx, r):
    want(not any("/api/logs" in i["data"]["url"] and i["data"]["status"] < 400
                 for i in r.json["items"]), "a successful read of the logs is not logged")
    want(any(i["data"]["url"].startswith("/api/logs") and i["data"]["status"] == 400
             for i in r.json["items"]), "a failed read of the logs is")


DMARK = "logsdetails4k"


def _made_invalid(ctx):
    """A create refused with field errors (400): its answer's data becomes data.details."""
    if "log_details" in ctx.vars:
        return
    r = ctx.call("POST", "/api/collections/users/records?m=" + DMARK, auth="su",
                 body={"email": "not-an-email", "password": "pw1234567", "passwordConfirm": "other"})
    want(r.status == 400 and r.json["data"], "the refusal %s" % r.summary())
    ctx.vars["log_details"] = r.json["data"]
    time.sleep(0.5)


def _details(ctx, r):
    items = r.json["items"]
    want(len(items) == 1, "one entry %s" % short(r.json))
    d = items[0]["data"]
    want(d["status"] == 400 and d["error"], short(d))
    want(d["details"] == ctx.vars["log_details"],
         "data.details is the answer's data: %s vs %s" % (d.get("details"), ctx.vars["log_details"]))
    want(d["details"]["email"]["code"] == "validation_is_email", short(d["details"]))


def _no_details(ctx, r):
    items = r.json["items"]
    want(len(items) == 1 and "details" not in items[0]["data"],
         "no details for an error with an empty data: %s" % short(r.json))


def _retention(ctx, r):
    s = Server(ctx.server.binary, flags=["--logs-max-days=1"],
               env={"TARMAC_TEST_LOGS_DAY_MS": "2000"}, name="logs-retention")
    try:
        s.start()
        s.request("GET", "/api/collections/old_one/records", {}, b"")
        time.sleep(3.5)  # a day and a half: pruned at the quarter-day pass
        s.request("GET", "/api/collections/new_one/records", {}, b"")
        time.sleep(0.5)
        import sqlite3
        db = sqlite3.connect(s.datadir + "/auxiliary.db")
        urls = [row[0] for row in db.execute("SELECT json_extract(data, '$.url') FROM _logs")]
        db.close()
        want(not any("old_one" in u for u in urls), "the old entry is pruned: %s" % urls)
        want(any("new_one" in u for u in urls), "the new entry stays: %s" % urls)
    finally:
        s.stop()
        s.cleanup()


SCENARIOS = [
    S("logs: a guest -> 401", "GET", "/api/logs", status=401),
    S("logs: a user -> 403", "GET", "/api/logs", auth="A", status=403),
    S("logs: stats of a user -> 403", "GET", "/api/logs/stats", auth="A", status=403),
    S("logs: a failed request's entry, found by filter on data.url", "GET",
      _mark_filter(), auth="su", setup=_made, check=_list),
    S("logs: filter on data.status, data.method and level", "GET",
      "/api/logs?filter=" + q('data.status = 404 && data.method = "GET" && level >= 8 && '
                              'data.url ~ "%s"' % MARK), auth="su", setup=_made, check=_list),
    S("logs: view by id", "GET", lambda c: "/api/logs/" + _entry_of(c)["id"], auth="su",
      setup=_made, check=_view),
    S("logs: view of an unknown id -> 404", "GET", "/api/logs/nosuchid123456", auth="su",
      status=404),
    S("logs: sort -@rowid, perPage 2", "GET", "/api/logs?sort=-%40rowid&perPage=2", auth="su",
      setup=_made, check=_sorted),
    S("logs: stats grouped by hour, filtered", "GET",
      "/api/logs/stats?filter=" + q('data.url ~ "%s"' % MARK), auth="su", setup=_made,
      check=_stats),
    S("logs: an unknown field -> 400 naming it", "GET", "/api/logs?filter=" + q("nope = 1"),
      auth="su", status=400, check=lambda c, r: want('"nope"' in r.json["message"], r.json)),
    S("logs: a data path with a bad character -> 400", "GET",
      "/api/logs?filter=" + q("data.a-b = 1"), auth="su", status=400),
    S("logs: a function in a logs filter -> 400", "GET",
      "/api/logs?filter=" + q('strftime("%Y", created) = "2026"'), auth="su", status=400),
    S("logs: stats with an unknown field -> 400", "GET", "/api/logs/stats?filter=" + q("x = 1"),
      auth="su", status=400),
    S("logs: an unknown sort field -> 400", "GET", "/api/logs?sort=-nope", auth="su",
      status=400),
    S("logs: successful reads of the logs are not logged, failed ones are", "GET",
      "/api/logs?perPage=1000&sort=-%40rowid", auth="su",
      setup=lambda c: (c.call("GET", "/api/logs?filter=bad%20%3D", auth="su"), time.sleep(0.4)),
      check=_no_reads_logged),
    S("logs: a 400's field errors are kept as data.details", "GET",
      "/api/logs?filter=" + q('data.url ~ "%s"' % DMARK), auth="su", setup=_made_invalid,
      check=_details),
    S("logs: data.details is filterable", "GET",
      "/api/logs?filter=" + q('data.details.email.code = "validation_is_email" && '
                              'data.url ~ "%s"' % DMARK), auth="su", setup=_made_invalid,
      check=lambda c, r: want(r.json["totalItems"] == 1, short(r.json))),
    S("logs: a 404 has no data.details", "GET", _mark_filter(), auth="su", setup=_made,
      check=_no_details),
    S("logs: entries older than logs-max-days are pruned", "GET", "/api/health",
      check=_retention),
]
