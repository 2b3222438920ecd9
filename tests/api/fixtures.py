"""Global fixtures: created once, through the API, before the scenarios run.

  superuser  admin@example.com (made with the CLI before the server starts)
  users      A and B (signed up as guests, then auth-with-password)
  posts      text/number/bool/select multi/relation->users/json/date/hidden
             text/autodate; list/view "", create needs auth, update/delete
             by the author
  secrets    all rules null (superusers only)
  notes      owner-only rules on every action
  shorty     auth collection whose tokens live 10 s (the "expired token"
             scenarios run last and wait for its token to expire)
"""

from apilib import SetupError, USERS_ID, jwt_payload

SU_EMAIL = "admin@example.com"
SU_PASS = "adminpass123"
USER_PASS = "userpass123"
EMAILS = {"A": "usera@example.com", "B": "userb@example.com",
          "shorty": "shorty@example.com"}

POSTS = {
    "name": "posts",
    "listRule": "",
    "viewRule": "",
    "createRule": '@request.auth.id != ""',
    "updateRule": "author = @request.auth.id",
    "deleteRule": "author = @request.auth.id",
    "fields": [
        {"name": "title", "type": "text", "required": True, "min": 3, "max": 20},
        {"name": "views", "type": "number", "min": 0, "max": 1000},
        {"name": "published", "type": "bool"},
        {"name": "tags", "type": "select", "maxSelect": 3,
         "values": ["go", "c", "spam", "rust"]},
        {"name": "author", "type": "relation", "collectionId": USERS_ID, "maxSelect": 1},
        {"name": "meta", "type": "json"},
        {"name": "due", "type": "date"},
        {"name": "secret", "type": "text", "hidden": True},
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ],
}

SECRETS = {
    "name": "secrets",
    "fields": [{"name": "v", "type": "text"}],
}

OWNER = "owner = @request.auth.id"
NOTES = {
    "name": "notes",
    "listRule": OWNER,
    "viewRule": OWNER,
    "createRule": '@request.auth.id != "" && ' + OWNER,
    "updateRule": OWNER,
    "deleteRule": OWNER,
    "fields": [
        {"name": "body", "type": "text"},
        {"name": "owner", "type": "relation", "collectionId": USERS_ID, "maxSelect": 1},
    ],
}

SHORTY = {
    "name": "shorty",
    "type": "auth",
    "authToken": {"duration": 10},
    "listRule": "id = @request.auth.id",
    "viewRule": "id = @request.auth.id",
    "createRule": "",
}


def sign_up_and_login(ctx, key, collection="users", extra=None):
    body = {"email": EMAILS[key], "password": USER_PASS, "passwordConfirm": USER_PASS}
    body.update(extra or {})
    rec = ctx.must("POST", "/api/collections/%s/records" % collection, body=body)
    auth = ctx.must("POST", "/api/collections/%s/auth-with-password" % collection,
                    body={"identity": EMAILS[key], "password": USER_PASS})
    ctx.ids[key] = rec["id"]
    ctx.tokens[key] = auth["token"]


def global_setup(ctx):
    su = ctx.must("POST", "/api/collections/_superusers/auth-with-password",
                  body={"identity": SU_EMAIL, "password": SU_PASS})
    if not su or "token" not in su:
        raise SetupError("superuser login gave no token")
    ctx.tokens["su"] = su["token"]
    ctx.ids["su"] = su["record"]["id"]

    # The short-lived token first, so it is as old as possible when the
    # expiry scenarios run at the end.
    ctx.new_collection(SHORTY)
    sign_up_and_login(ctx, "shorty", "shorty")
    ctx.vars["shorty_exp"] = jwt_payload(ctx.tokens["shorty"])["exp"]

    for key in ("A", "B"):
        sign_up_and_login(ctx, key, extra={"name": "User " + key})

    ctx.new_collection(POSTS)
    ctx.new_collection(SECRETS)
    ctx.new_collection(NOTES)

    # A few records every scenario may read (never modified by scenarios).
    ctx.vars["postA"] = ctx.new_post("A", title="seed of A", views=5, tags=["go"])
    ctx.vars["postB"] = ctx.new_post("B", title="seed of B", views=7)
    ctx.vars["noteA"] = ctx.new_note("A")
    ctx.vars["noteB"] = ctx.new_note("B")
    ctx.vars["secret"] = ctx.must("POST", "/api/collections/secrets/records",
                                  auth="su", body={"v": "classified"})
