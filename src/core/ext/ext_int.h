/* ext_int.h -- what the files of core/ext/ share and nothing else includes
 * (layer: core, core/ext/). */
#ifndef TARMAC_CORE_EXT_EXT_INT_H
#define TARMAC_CORE_EXT_EXT_INT_H

#include "core/ext/ext.h"

/* A write of records.c started in s, or answered: the thread's count of
 * writes in flight follows (core_ext_is_busy); when the last one of a
 * closed scope answers, its on_idle runs (and may free s). (ext.c) */
void core_ext_write_started(struct core_ext_scope *s);
void core_ext_write_ended(struct core_ext_scope *s);
/* A write counted by core_ext_write_started did not start after all. */
void core_ext_write_undo(struct core_ext_scope *s);

#endif
