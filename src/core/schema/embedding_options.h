/* embedding_options.h -- a collection's `embedding` option: a vector field
 * the server fills from some text fields through an embedding provider
 * (layer: core, schema/).
 *
 *     "embedding": {"field": "emb", "source": ["title", "body"],
 *                   "provider": "openai"}
 *
 * Beyond PocketBase (issue #18, item 2). field: a vector field of the
 * collection; source: 1..8 distinct text, editor, email or url fields (not
 * the vector itself); provider: the kind of endpoint, "openai" (the only
 * one, and the default: an OpenAI-compatible POST /v1/embeddings, such as
 * llama.cpp's or Ollama's, whose URL, model and key are the settings'
 * `embeddings` section). A create or an update that changes a source field
 * enqueues an `embed` job (core/jobs/embed_kind.h) in its transaction; the
 * request never waits for the provider. Absent in a change keeps the
 * collection's; null removes it; a renamed field is followed, a removed
 * one dropped (and the option with its vector field or its last source),
 * as the search option does. */
#ifndef TARMAC_CORE_SCHEMA_EMBEDDING_OPTIONS_H
#define TARMAC_CORE_SCHEMA_EMBEDDING_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct jsonw;
struct core_problem;
struct core_collection;

#define CORE_EMBEDDING_MAX_SOURCES 8

/* The kinds of embedding endpoint. */
enum core_embedding_provider {
    CORE_EMBEDDING_OPENAI, /* POST {model, input} -> {data: [{embedding: [...]}]} */
};

struct core_embedding_options {
    char *field;    /* the vector field; NULL when the collection has no embedding */
    char **sources; /* the text fields, in order */
    size_t source_count;
    enum core_embedding_provider provider;
};

/* Applies the `embedding` value in (borrowed; NULL: absent) to o: null
 * clears it, an object replaces it. from_client: refuse what is not
 * well-formed (paths "embedding", "embedding.field", "embedding.source",
 * "embedding.provider"); a stored definition is read leniently. *is_given
 * says whether in replaced o. */
void core_embedding_options_parse(json_t *in, struct core_embedding_options *o, bool from_client,
                                  bool *is_given, struct core_problem *p);
/* Checks c's embedding against c's fields (see the top of this file);
 * base: c before the change (NULL for a new one), whose fields the option
 * follows by id when the change did not send it. */
void core_embedding_options_check(struct core_collection *c, const struct core_collection *base,
                                  bool is_given, bool from_client, struct core_problem *p);
/* Writes the `embedding` key and its object when c has one. */
void core_embedding_options_write(struct jsonw *w, const struct core_embedding_options *o);
void core_embedding_options_copy(struct core_embedding_options *to,
                                 const struct core_embedding_options *from);
void core_embedding_options_cleanup(struct core_embedding_options *o);
/* The provider's name ("openai"). */
const char *core_embedding_provider_name(enum core_embedding_provider p);

#endif
