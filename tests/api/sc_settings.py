"""Scenarios: the settings API (issue #15, item 1; spec section 9.3).

GET/PATCH /api/settings for superusers only, PocketBase's sections, secrets
never returned, field errors in PocketBase's shape, sections tarmac lacks
refused, nothing half-applied. The suite's server is shared: every PATCH
here either fails or sets a value back to what it was, so no other
scenario sees a change (tests/e2e/settings.test.mjs changes values and
watches their effect on a server of its own).
"""

from apilib import Scenario as S, want

SECTIONS = ["meta", "smtp", "s3", "backups", "logs", "batch", "rateLimits", "trustedProxy"]


def _shape(ctx, r):
    for k in SECTIONS:
        want(isinstance(r.json.get(k), dict), "section %s missing" % k)
    want("password" not in r.json["smtp"], "smtp.password returned")
    want("secret" not in r.json["s3"] and "secret" not in r.json["backups"]["s3"],
         "an S3 secret returned")
    want(r.json["locked"] == [], "locked: %r" % r.json["locked"])
    want(r.json["superuserIPs"] == [], "superuserIPs: %r" % r.json["superuserIPs"])


def _field(path, code):
    def check(ctx, r):
        node = r.json["data"]
        for k in path.split("."):
            want(isinstance(node, dict) and k in node, "data.%s missing: %r" % (path, r.json))
            node = node[k]
        want(node.get("code") == code, "data.%s.code %r, want %s" % (path, node.get("code"), code))
    return check


def _unchanged(ctx, r):
    got = ctx.call("GET", "/api/settings", auth="su")
    want(got.json["batch"]["maxRequests"] == 50, "a refused PATCH changed batch.maxRequests")


SCENARIOS = [
    S("settings: guest GET 401", "GET", "/api/settings", status=401),
    S("settings: user GET 403", "GET", "/api/settings", auth="A", status=403),
    S("settings: user PATCH 403", "PATCH", "/api/settings", auth="A",
      body={"meta": {"appName": "x"}}, status=403),
    S("settings: superuser GET sections, no secrets", "GET", "/api/settings", auth="su",
      subset={"batch": {"enabled": True, "maxRequests": 50}, "logs": {"maxDays": 5}},
      check=_shape),
    S("settings: PATCH same values 200", "PATCH", "/api/settings", auth="su",
      body={"batch": {"maxRequests": 50}}, subset={"batch": {"maxRequests": 50}}),
    S("settings: PATCH unknown option 400", "PATCH", "/api/settings", auth="su",
      body={"batch": {"maxRequest": 5}}, status=400,
      subset={"message": "An error occurred while loading the submitted data."},
      check=_field("batch.maxRequest", "validation_unknown_option")),
    S("settings: PATCH wrong type 400", "PATCH", "/api/settings", auth="su",
      body={"batch": {"maxRequests": "5"}}, status=400,
      check=_field("batch.maxRequests", "validation_invalid_type")),
    S("settings: PATCH invalid values 400, nothing applied", "PATCH", "/api/settings",
      auth="su", body={"batch": {"maxRequests": 7}, "meta": {"appURL": "nope"}}, status=400,
      subset={"message": "An error occurred while saving the new settings."},
      check=lambda ctx, r: (_field("meta.appURL", "validation_is_url")(ctx, r),
                            _unchanged(ctx, r))),
    S("settings: PATCH s3 enabled without an endpoint 400", "PATCH", "/api/settings", auth="su",
      body={"s3": {"enabled": True, "bucket": "b"}}, status=400,
      check=lambda ctx, r: (_field("s3.endpoint", "validation_required")(ctx, r),
                            _field("s3.secret", "validation_required")(ctx, r),
                            _unchanged(ctx, r))),
    S("settings: PATCH backups.s3 enabled without an endpoint 400", "PATCH", "/api/settings",
      auth="su", body={"backups": {"s3": {"enabled": True, "bucket": "b"}}}, status=400,
      check=lambda ctx, r: (_field("backups.s3.endpoint", "validation_required")(ctx, r),
                            _field("backups.s3.region", "validation_required")(ctx, r),
                            _field("backups.s3.secret", "validation_required")(ctx, r),
                            _unchanged(ctx, r))),
    S("settings: PATCH backups.s3 endpoint not a URL 400", "PATCH", "/api/settings", auth="su",
      body={"backups": {"s3": {"endpoint": "not a url"}}}, status=400,
      check=lambda ctx, r: (_field("backups.s3.endpoint", "validation_is_url")(ctx, r),
                            _unchanged(ctx, r))),
    S("settings: PATCH superuserIPs not an IP 400", "PATCH", "/api/settings", auth="su",
      body={"superuserIPs": ["10.0.0.0/8", "10.0.0.0/33"]}, status=400,
      check=lambda ctx, r: (_field("superuserIPs.1", "validation_invlaid_ip_or_subnet")(ctx, r),
                            want("0" not in r.json["data"]["superuserIPs"], "a good entry refused"))),
    S("settings: PATCH excludedIPs blank 400", "PATCH", "/api/settings", auth="su",
      body={"rateLimits": {"excludedIPs": [""]}}, status=400,
      check=_field("rateLimits.excludedIPs.0", "validation_required")),
    S("settings: PATCH rule audience refused as not supported", "PATCH", "/api/settings",
      auth="su", body={"rateLimits": {"rules": [
          {"label": "/api/", "maxRequests": 5, "duration": 1, "audience": "@guest"}]}},
      status=400, check=_field("rateLimits.rules.0.audience", "validation_not_supported")),
    S("settings: PATCH conflicting rule labels 400", "PATCH", "/api/settings", auth="su",
      body={"rateLimits": {"rules": [
          {"label": "/api/", "maxRequests": 5, "duration": 1},
          {"label": "/api/", "maxRequests": 6, "duration": 1}]}},
      status=400,
      check=_field("rateLimits.rules.1.label", "validation_conflicting_rate_limit_rule")),
    S("settings: test/s3 400 when S3 is off", "POST", "/api/settings/test/s3", auth="su",
      body={"filesystem": "storage"}, status=400,
      subset={"message": "Failed to test the S3 filesystem. Raw error: \n"
                         "S3 storage filesystem is not enabled."}),
    S("settings: test/s3 bad filesystem 400", "POST", "/api/settings/test/s3", auth="su",
      body={"filesystem": "x"}, status=400,
      check=_field("filesystem", "validation_in_invalid")),
    S("settings: test/email bad form 400", "POST", "/api/settings/test/email", auth="su",
      body={"email": "nope", "template": "x", "collection": "posts"}, status=400,
      check=lambda ctx, r: (_field("email", "validation_is_email")(ctx, r),
                            _field("template", "validation_in_invalid")(ctx, r),
                            _field("collection", "validation_invalid_auth_collection")(ctx, r))),
    S("settings: test/email user 403", "POST", "/api/settings/test/email", auth="A",
      body={"email": "a@b.co", "template": "otp"}, status=403),
]
