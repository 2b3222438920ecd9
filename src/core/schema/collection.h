/* collection.h -- the schema: collections and their fields (layer: core).
 *
 * A struct core_schema is an immutable snapshot of every collection. Workers
 * read it without locks; a schema change builds a new snapshot and swaps it
 * in (the old one is freed when its last reader drops it). Storage follows
 * PocketBase's (spec §5.3): one table per collection named after it, one
 * column per field named after the field; multiple select/relation/file
 * values are stored as a JSON array text ('[]' when empty), json fields as
 * JSON text or NULL, bools as 0/1, numbers as NUMERIC, everything else TEXT
 * with '' for empty. */
#ifndef TARMAC_CORE_COLLECTION_H
#define TARMAC_CORE_COLLECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "core/schema/auth_options.h"
#include "core/schema/mail_template.h"
#include "core/schema/oauth2.h"
#include "core/schema/embedding_options.h"
#include "core/schema/search_options.h"

enum core_collection_type {
    CORE_COLLECTION_BASE,
    CORE_COLLECTION_AUTH,
    CORE_COLLECTION_VIEW,
};

enum core_field_type {
    CORE_FIELD_TEXT,
    CORE_FIELD_NUMBER,
    CORE_FIELD_BOOL,
    CORE_FIELD_EMAIL,
    CORE_FIELD_URL,
    CORE_FIELD_EDITOR,
    CORE_FIELD_DATE,
    CORE_FIELD_AUTODATE,
    CORE_FIELD_SELECT,
    CORE_FIELD_JSON,
    CORE_FIELD_RELATION,
    CORE_FIELD_PASSWORD,
    CORE_FIELD_FILE,
    CORE_FIELD_GEOPOINT,
    CORE_FIELD_VECTOR,
};

/* The API rules of spec §4, in this order. */
enum core_rule_kind {
    CORE_RULE_LIST,
    CORE_RULE_VIEW,
    CORE_RULE_CREATE,
    CORE_RULE_UPDATE,
    CORE_RULE_DELETE,
    CORE_RULE_COUNT
};

struct core_field {
    char *id;
    char *name;
    enum core_field_type type;
    bool is_system;
    bool is_hidden;
    bool is_presentable;
    bool is_required;
    bool is_primary_key; /* only the id field */
    char *help;          /* a UI hint, at most 300 characters; "" when none (not on autodate) */
    bool convert_urls;   /* editor: a UI hint for the editor's links */
    /* Between parsing a client's field and checking it (collection_json.c):
     * the options given with the wrong JSON type, as bits of the common
     * options' table and of the kind's own (field_type.h). */
    uint32_t _bad_common;
    uint32_t _bad_own;
    /* text/password: length in characters; number: value; 0/false = not set */
    bool has_min;
    bool has_max;
    double min;
    double max;
    char *min_date; /* date fields: "" when not set */
    char *max_date;
    char *pattern; /* text/password regex, "" when none */
    int64_t cost;  /* password: bcrypt cost as given; a schema change accepts only 0
                      (argon2id's cost is the server's, core/password.h) */
    char *autogenerate_pattern;
    bool only_int;  /* number */
    int min_select; /* select/relation */
    int max_select; /* select/relation/file: >1 means multiple */
    char **values;  /* select: allowed values */
    size_t value_count;
    char *collection_id; /* relation: the target collection's id */
    bool cascade_delete; /* relation */
    bool on_create;      /* autodate */
    bool on_update;      /* autodate */
    int64_t max_size;    /* json/editor/file bytes; 0 = the type's default */
    char **mime_types;   /* file */
    size_t mime_type_count;
    char **thumbs; /* file: "100x100", "0x300", ... */
    size_t thumb_count;
    bool is_protected;   /* file */
    char **only_domains; /* email/url */
    size_t only_domain_count;
    char **except_domains;
    size_t except_domain_count;
    int dimensions; /* vector: 1..4096 (0 or -1 from a client: refused) */
};

/* The tokens an auth collection issues (PocketBase's authToken,
 * passwordResetToken, emailChangeToken, verificationToken, fileToken): each
 * kind is signed with its own secret (and the record's tokenKey), so a new
 * secret revokes every token of that kind at once. */
enum core_token_kind {
    CORE_TOKEN_AUTH,
    CORE_TOKEN_PASSWORD_RESET,
    CORE_TOKEN_EMAIL_CHANGE,
    CORE_TOKEN_VERIFICATION,
    CORE_TOKEN_FILE,
    CORE_TOKEN_KIND_COUNT
};

struct core_token_config {
    char *secret; /* 30..255 characters; never shown by the API, only stored */
    int64_t duration_s;
};

/* The kind a token's "type" claim names ("auth", "passwordReset",
 * "emailChange", "verification", "file"); CORE_TOKEN_KIND_COUNT for none. */
enum core_token_kind core_token_kind_of(const char *type);
/* The option's key in a collection's JSON ("authToken", ...). */
const char *core_token_option_name(enum core_token_kind k);

struct core_collection {
    char *id;
    char *name;
    enum core_collection_type type;
    bool is_system;
    char *rules[CORE_RULE_COUNT]; /* NULL = superusers only; "" = anyone; else a filter */
    char *auth_rule;              /* auth collections; NULL = superusers only */
    char *manage_rule;
    struct core_field *fields;
    size_t field_count;
    char **indexes; /* raw CREATE [UNIQUE] INDEX statements */
    size_t index_count;
    char *view_query; /* view collections */
    char *created;
    char *updated;
    /* auth options */
    struct core_token_config tokens[CORE_TOKEN_KIND_COUNT];
    bool is_password_auth;
    bool is_otp; /* one-time passwords by email (spec §6.8) */
    int64_t otp_duration_s;
    int otp_length;
    char **identity_fields;
    size_t identity_field_count;
    struct core_oauth2_options oauth2;         /* sign-in with OAuth2 providers (schema/oauth2.h) */
    struct core_mfa_options mfa;               /* a second factor (schema/auth_options.h) */
    struct core_auth_alert_options auth_alert; /* the mail on a sign-in from a new origin */
    /* The mails of the auth flows (schema/mail_template.h); auth collections
     * hold every kind, set to the defaults when not given. */
    struct core_mail_template mail[CORE_MAIL_KIND_COUNT];
    /* Full-text search (schema/search_options.h): no fields when none. */
    struct core_search_options search;
    /* A vector field filled from text fields (schema/embedding_options.h). */
    struct core_embedding_options embedding;
};

struct core_schema {
    struct core_collection **items;
    size_t count;
    uint64_t version; /* grows with every change */
};

/* True for multiple select/relation/file fields (stored as a JSON array). */
bool core_field_is_multi(const struct core_field *f);
/* Makes dst a deep copy of src (free it with core_field_cleanup). */
void core_field_copy(struct core_field *dst, const struct core_field *src);
/* Frees what field f owns (its names, lists, options), not f itself. */
void core_field_cleanup(struct core_field *f);
/* Finds a collection by id (exact) or name (ASCII case-insensitive), as URL
 * paths address them (spec conventions); NULL when there is none. */
const struct core_collection *core_schema_find(const struct core_schema *s, struct str name_or_id);
/* Finds a collection by id or name, both exactly (realtime topics, relations). */
const struct core_collection *core_schema_find_exact(const struct core_schema *s,
                                                     struct str name_or_id);
/* Finds a field by name (exact); NULL when there is none. */
const struct core_field *core_collection_field(const struct core_collection *c, struct str name);
/* The field of c with that id, or NULL. */
const struct core_field *core_collection_field_by_id(const struct core_collection *c,
                                                     const char *id);
/* The field an option of c names `name`, in c now: when a change did not
 * send the option (is_given false), the field base called so, followed by
 * its id (renamed), or NULL (removed); else the field of that name. */
const struct core_field *core_collection_field_followed(const struct core_collection *c,
                                                        const struct core_collection *base,
                                                        bool is_given, const char *name);
/* Whether f of c is never shown, filtered on, exported or read by a view:
 * a password-like (secret input) field, or an auth collection's tokenKey
 * (c NULL: any tokenKey). */
bool core_field_is_secret(const struct core_collection *c, const struct core_field *f);
/* Frees a collection and everything it owns; accepts NULL. */
void core_collection_free(struct core_collection *c);
/* Frees a schema snapshot and its collections; accepts NULL. */
void core_schema_free(struct core_schema *s);

#endif
