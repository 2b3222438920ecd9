# tarmac -- the only build. `make` builds build/release/tarmac; `make test`
# runs every suite (release, then again under ASan+UBSan, then the fuzzers for
# a bounded time); `make fuzz`, `make check`, `make bench`. Fragments: mk/.
# `make EXT=my_ext.c` links C extensions into build/ext-$(MODE)/tarmac (mk/ext.mk).

MODE ?= release
OUT  := build/$(MODE)

include mk/deps.mk
include mk/flags.mk
include mk/web.mk

SRC      := $(shell find src -name '*.c' | sort)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(OUT)/obj/%.o) $(WEB_OBJ)
MAIN_OBJ := $(OUT)/obj/main.o
UNIT_SRC := $(shell find tests/unit -name 'test_*.c' | sort)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OUT)/unit/%)

include mk/ext.mk

.PHONY: all unit test check fuzz fuzz-build bench clean deps format serve deb FORCE
.DEFAULT_GOAL := all

all: $(if $(strip $(EXT)),$(EXT_BIN),$(OUT)/tarmac)

$(OUT)/tarmac: $(MAIN_OBJ) $(OUT)/libtarmac.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/libtarmac.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The flags a build used: objects are rebuilt when they change (a -D such as
# the asan build's TARMAC_FAULTS changes what a file compiles to).
FLAGS_STAMP := $(OUT)/flags.txt
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS) $(LDLIBS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDLIBS)' > $@

$(OUT)/obj/%.o: src/%.c $(FLAGS_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests include the module's .c when they need its statics (allowed by
# STYLE.md §7), so they link against the library for everything else.
$(OUT)/unit/%: tests/unit/%.c $(OUT)/libtarmac.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_CFLAGS) -o $@ $< $(OUT)/libtarmac.a $(LDLIBS) $(TEST_LDLIBS)

unit: $(UNIT_BIN)

# The quick start: build, then run the server in the foreground (ARGS for flags).
serve: all
	exec $(if $(strip $(EXT)),$(EXT_BIN),$(OUT)/tarmac) serve $(ARGS)

# The test command of the README: every suite, one summary line at the end.
test:
	scripts/check.sh
	$(MAKE) MODE=release all unit
	$(MAKE) MODE=asan all unit
	$(MAKE) fuzz-build
	tests/run

FUZZ_SRC := $(shell find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' | sort)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
# Fuzzers link the pure parts: base, the HTTP parsers, the filter compiler,
# the inbound webhook signature check, the S3 answers' XML, the hooks' Lua runtime.
FUZZ_LIB  = $(sort $(wildcard src/base/*.c) src/http/parse.c src/http/chunked.c src/http/query.c \
            src/http/multipart.c src/http/req.c src/http/ws_handshake.c \
            src/core/record/record_input.c src/core/record/nearest_to.c src/core/record/vector_file.c src/core/schema/field_pattern.c src/core/credential/password.c src/core/problem.c \
            src/core/files/file_input.c src/core/files/file_name.c src/core/files/sniff.c src/core/realtime/realtime_sub.c \
            src/core/jobs/inbound_verify.c src/core/notify/template.c src/core/notify/prefs_check.c \
            src/net/s3_xml.c src/store/redis_url.c $(addprefix src/core/hooks/,vm.c call.c sandbox.c lib.c json.c json_decode.c) \
            $(wildcard src/core/schema/collection.c src/core/schema/collection_json.c src/core/schema/index.c \
                       src/core/schema/view_query.c \
                       src/core/schema/oauth2.c src/core/schema/auth_options.c src/core/schema/mail_template.c \
                       src/core/schema/search_options.c src/core/schema/embedding_options.c \
                       src/core/schema/field_type.c \
                       src/core/schema/field_value.c src/core/schema/fields/*.c \
                       src/core/filter/filter_*.c src/core/filter/sqlgen.c) \
            src/store/sql.c src/store/dialect.c src/store/search_query.c src/store/sqlite_fts.c src/store/sqlite_rank.c src/store/sqlite_func.c)
FUZZ_LIBS = $(shell pkg-config --libs sqlite3 jansson libsodium libcrypt lua5.4 libcrypto 2>/dev/null) -lm

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(shell pkg-config --cflags lua5.4 2>/dev/null) -o $@ $< $(FUZZ_LIB) $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BIN)

# Fuzz every target for FUZZ_SECONDS each (default 60).
fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_SECONDS)

check:
	scripts/check.sh

# The Debian package (binary, man page, systemd unit, tarmac user) from the
# release build: build/deb/tarmac_VERSION_ARCH.deb. See packaging/deb/.
deb:
	$(MAKE) MODE=release all
	packaging/deb/build.sh build/release/tarmac build/deb

format:
	clang-format -i $$(find src tests/unit tests/fuzz -name '*.[ch]')

bench: all
	bench/run-health.sh

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
