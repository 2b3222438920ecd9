# The admin dashboard (/_/): web/admin/ is embedded into the binary by
# tools/embed.c, built here with the host compiler and zlib, which writes
# build/gen/admin_assets.c (each file raw + gzip, content-hashed names).
# No Node at build time. The folder is a prerequisite too, so adding or
# removing a file regenerates the table.
ADMIN_FILES := $(sort $(notdir $(wildcard web/admin/*)))
EMBED       := build/tools/embed
GEN_ADMIN   := build/gen/admin_assets.c
ADMIN_OBJ   := $(OUT)/obj/gen/admin_assets.o

$(EMBED): tools/embed.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g $(WARN) -o $@ $< $(shell pkg-config --cflags --libs $(TOOL_PKGS))

$(GEN_ADMIN): $(EMBED) web/admin $(addprefix web/admin/,$(ADMIN_FILES))
	@mkdir -p $(dir $@)
	$(EMBED) $@ web/admin $(ADMIN_FILES)

$(ADMIN_OBJ): $(GEN_ADMIN) src/api/admin_assets.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
