# C extensions (include/tarmac.h, docs/extensions.md): `make EXT="a.c b.c"`
# compiles those files against the public header alone (-Iinclude, not
# -Isrc) and links them, with the library of the plain build of the same
# MODE, into build/ext-$(MODE)/tarmac. The plain build's objects are reused
# as they are (an extension changes no object of the library), and the
# plain build/$(MODE)/tarmac is never overwritten. EXT_CFLAGS and
# EXT_LDLIBS add the extension's own flags and libraries. No EXT: nothing
# here is defined, and `make` is the plain build.
ifneq ($(strip $(EXT)),)
EXT_OUT    ?= build/ext-$(MODE)
EXT_BIN    := $(EXT_OUT)/tarmac
ext_obj     = $(EXT_OUT)/obj/$(subst /,__,$(subst ..,up,$(basename $(1)))).o
EXT_OBJ    := $(foreach f,$(EXT),$(call ext_obj,$(f)))
EXT_CFLAGS ?=
EXT_LDLIBS ?=
EXT_CC_FLAGS = -std=c17 -D_GNU_SOURCE -pthread -g $(WARN) -Iinclude -MMD -MP $(MODE_CFLAGS) \
               $(EXT_CFLAGS)
# The files, flags and libraries a build used: the binary is linked again
# when the list changes (an extension dropped from EXT must not stay in).
EXT_STAMP  := $(EXT_OUT)/ext.txt
$(EXT_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(EXT) | $(EXT_CC_FLAGS) | $(EXT_LDLIBS)' | cmp -s - $@ || \
	    echo '$(EXT) | $(EXT_CC_FLAGS) | $(EXT_LDLIBS)' > $@

define ext_rule
$(call ext_obj,$(1)): $(1) $(EXT_STAMP) | deps
	@mkdir -p $$(dir $$@)
	$$(CC) $$(EXT_CC_FLAGS) -c -o $$@ $$<
endef
$(foreach f,$(EXT),$(eval $(call ext_rule,$(f))))

# The extension objects come before the library, so the linker takes the
# API functions they call (core/ext, api/ext.c) from it.
$(EXT_BIN): $(MAIN_OBJ) $(EXT_OBJ) $(OUT)/libtarmac.a $(EXT_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(EXT_OBJ) $(OUT)/libtarmac.a $(LDLIBS) \
	    $(EXT_LDLIBS)

-include $(EXT_OBJ:.o=.d)
endif
