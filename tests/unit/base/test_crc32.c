/* test_crc32.c -- CRC-32 against the standard check values (and the ids
 * PocketBase derives from it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/crc32.h"

static void test_crc32_matches_the_ieee_check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32_ieee("123456789", 9), 0xCBF43926u);
    assert_int_equal(crc32_ieee("", 0), 0u);
    assert_int_equal(crc32_ieee("a", 1), 0xE8B7BE43u);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(crc32_ieee(fox, strlen(fox)), 0x414FA339u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_matches_the_ieee_check_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
