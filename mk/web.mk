# The web pages in the binary: the admin dashboard (web/admin/, /_/) and the
# docs page (web/docs/, /api/docs). tools/embed.c, built here with the host
# compiler and zlib, writes build/gen/<set>_assets.c from each folder (each
# file raw + gzip, content-hashed names). No Node at build time. The folder is
# a prerequisite too, so adding or removing a file regenerates the table.
EMBED    := build/tools/embed
WEB_SETS := admin docs
WEB_OBJ  := $(WEB_SETS:%=$(OUT)/obj/gen/%_assets.o)
# References to hashed names: relative for /_/ (index at the folder's URL),
# absolute for /api/docs (index at a URL without the trailing slash).
WEB_PREFIX_admin := ./
WEB_PREFIX_docs  := /api/docs/

$(EMBED): tools/embed.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -O2 -g $(WARN) -o $@ $< $(shell pkg-config --cflags --libs $(TOOL_PKGS))

define web_set
WEB_FILES_$(1) := $$(sort $$(notdir $$(wildcard web/$(1)/*)))
build/gen/$(1)_assets.c: $$(EMBED) web/$(1) $$(addprefix web/$(1)/,$$(WEB_FILES_$(1)))
	@mkdir -p $$(dir $$@)
	$$(EMBED) $$@ $(1) $$(WEB_PREFIX_$(1)) web/$(1) $$(WEB_FILES_$(1))
$(OUT)/obj/gen/$(1)_assets.o: build/gen/$(1)_assets.c src/api/assets.h
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -c -o $$@ $$<
endef
$(foreach s,$(WEB_SETS),$(eval $(call web_set,$(s))))
