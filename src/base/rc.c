/* rc.c -- names for enum rc. */
#include "base/rc.h"

#define RC_NAME_ROW(name, text) [name] = #name,
static const char *const names[RC_COUNT] = {RC_LIST(RC_NAME_ROW)};
#undef RC_NAME_ROW
#define RC_TEXT_ROW(name, text) [name] = text,
static const char *const texts[RC_COUNT] = {RC_LIST(RC_TEXT_ROW)};
#undef RC_TEXT_ROW

const char *rc_name(enum rc rc)
{
    return (unsigned)rc < RC_COUNT ? names[rc] : "RC_UNKNOWN";
}

const char *rc_text(enum rc rc)
{
    return (unsigned)rc < RC_COUNT ? texts[rc] : "unknown";
}
