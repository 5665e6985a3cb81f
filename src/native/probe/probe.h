// Feature probes: does this kernel load a program type, create a map type, offer a
// helper, and load-and-attach a tiny program of each attach kind? Each probe is a few
// syscalls on tiny objects closed before it returns; refusals throw BpfError (the libbpf
// call or syscall that failed names the stage), which TypeScript turns into a result.
#pragma once
#include <napi.h>

namespace nlb {

// probeProgramType(type) / probeMapType(type) / probeHelper(progType, helperId) -> boolean
Napi::Value ProbeProgramType(const Napi::CallbackInfo& info);
Napi::Value ProbeMapType(const Napi::CallbackInfo& info);
Napi::Value ProbeHelper(const Napi::CallbackInfo& info);
// probeAttach(recipe): loads the recipe's program and attaches it the recipe's way, then
// closes everything. Returns undefined, or throws the BpfError of the failing step.
Napi::Value ProbeAttach(const Napi::CallbackInfo& info);
// helperNames() -> string[] indexed by helper id; attachTypes() -> libbpf's attach type names.
Napi::Value HelperNames(const Napi::CallbackInfo& info);
Napi::Value AttachTypes(const Napi::CallbackInfo& info);

}  // namespace nlb
