/* fuzz_hooks_json.c -- libFuzzer target for core/hooks/json_decode.h (what
 * tarmac.json.decode runs), inside a hook call of a small state (256 KiB,
 * so the cap is hit too). Checks the contract, not just "no crash": text
 * that decodes and encodes again is stable (encoding it, decoding that and
 * encoding again gives the same text), and every call ends DONE or with a
 * memory error, never a script or budget error from our side. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/hooks/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char script[] = "function check(s)\n"
                             "  local ok, v = pcall(tarmac.json.decode, s)\n"
                             "  if not ok then\n"
                             "    assert(type(v) == 'string')\n"
                             "    return\n"
                             "  end\n"
                             "  local ok2, t = pcall(tarmac.json.encode, v)\n"
                             "  if not ok2 then return end -- a key with NUL, or past the cap\n"
                             "  local t2 = tarmac.json.encode(tarmac.json.decode(t))\n"
                             "  if t2 ~= t then error('unstable: ' .. t .. ' then ' .. t2) end\n"
                             "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct core_hooks_vm *vm;
    if (!vm) {
        struct core_hooks_vm_config cfg = {.memory_max = 256 << 10};
        vm = core_hooks_vm_new(&cfg);
        char err[256];
        if (!vm || core_hooks_vm_load_string(vm, "fuzz.lua", STR_LIT(script), err, sizeof(err)))
            abort();
    }
    lua_State *L = core_hooks_vm_lua(vm);
    lua_getglobal(L, "check");
    lua_pushlstring(L, (const char *)data, size);
    enum core_hooks_status st;
    struct core_hooks_call *call = core_hooks_call_start(vm, 1, &st);
    if (st == CORE_HOOKS_ERROR && core_hooks_call_error(call)->kind != CORE_HOOKS_ERR_MEMORY) {
        core_hooks_call_log(call, "fuzz");
        abort();
    }
    core_hooks_call_free(call);
    return 0;
}
