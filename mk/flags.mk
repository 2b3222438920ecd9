# Compiler flags per build mode: release (-O2) and asan (ASan + UBSan).
CC     ?= cc
WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wno-missing-field-initializers
# pkg-config runs when a rule uses these ('=' not ':='), so a first build
# that had to install the packages (the deps target) still finds them.
CFLAGS  = -std=c17 -D_GNU_SOURCE -pthread -g $(WARN) -Isrc -Iinclude -MMD -MP $(MODE_CFLAGS) \
          $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  = $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(NOPC_LIBS) -pthread -lm $(MODE_LDLIBS)
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null) -Wno-unused-parameter -Itests/unit
TEST_LDLIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

ifeq ($(MODE),release)
MODE_CFLAGS := -O2
else ifeq ($(MODE),asan)
SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The test build carries the fault points (src/base/fault.h) and the route
# that arms them; every sqlite3_step goes through store/sqlite.c's wrapper.
MODE_CFLAGS := -O1 $(SAN) -DTARMAC_FAULTS
MODE_LDLIBS := -Wl,--wrap=sqlite3_step
LDFLAGS += $(SAN)
else
$(error MODE must be release or asan)
endif

# Fuzzers: clang's libFuzzer (Debian clang-14 + libclang-rt-14-dev).
FUZZ_CC     ?= $(shell command -v clang-14 || command -v clang)
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
