// The only places that interpret libbpf's return conventions (negative errno for ints,
// NULL plus errno for pointers) and turn them into BpfError / VerifierError instances.
#pragma once
#include <napi.h>

#include <string>

#include "log.h"

namespace nlb {

// Builds `new BpfError(errno, call, lines)` (or VerifierError when the captured lines
// hold a verifier log) using the classes TypeScript registered at init.
Napi::Error MakeBpfError(Napi::Env env, int err, const std::string& call, const std::vector<LogLine>& lines);

// ret < 0: delivers the captured lines and throws the BpfError for -ret.
int Check(Napi::Env env, int ret, const char* call, const LogCapture& log);

template <class P>
P* CheckPtr(Napi::Env env, P* ptr, const char* call, const LogCapture& log) {
  if (!ptr) Check(env, -(errno ? errno : EINVAL), call, log);
  return ptr;
}

// TypeError / RangeError built by TypeScript's constructors (so `instanceof TypeError`
// holds in the caller's realm, e.g. under jest's vm contexts).
Napi::Error TypeError(Napi::Env env, const std::string& message);
Napi::Error RangeError(Napi::Env env, const std::string& message);

// Wrong state: one fixed TypeError message per state.
[[noreturn]] void ThrowState(Napi::Env env, const char* message);

extern const char* const kClosed;      // "BpfObject is closed"
extern const char* const kNotLoaded;   // "BpfObject is not loaded"
extern const char* const kLoaded;      // "BpfObject is already loaded"
extern const char* const kLoading;     // "BpfObject is loading"
extern const char* const kLoadFailed;  // "BpfObject failed to load; open it again"

}  // namespace nlb
