/* slice_assert.h -- the cmocka assertion the unit tests share for struct
 * str slices (which are not NUL-terminated, so assert_string_equal cannot
 * take them). Include after <cmocka.h>. */
#ifndef TARMAC_TESTS_SLICE_ASSERT_H
#define TARMAC_TESTS_SLICE_ASSERT_H

#include <string.h>

#include "base/str.h"

/* Fails the test unless the slice s holds exactly the C string lit. */
#define assert_slice_equal(s, lit)                                                                 \
    do {                                                                                           \
        struct str s_ = (s);                                                                       \
        const char *l_ = (lit);                                                                    \
        size_t n_ = strlen(l_);                                                                    \
        if (s_.len != n_ || (n_ && memcmp(s_.ptr, l_, n_) != 0))                                   \
            fail_msg("got \"%.*s\" (%zu bytes), want \"%s\" (%zu bytes)", (int)s_.len,             \
                     s_.ptr ? s_.ptr : "", s_.len, l_, n_);                                        \
    } while (0)

#endif
