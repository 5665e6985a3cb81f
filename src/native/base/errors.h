// The only places that interpret libbpf's return conventions (negative errno for ints,
// NULL plus errno for pointers) and turn them into BpfError / VerifierError instances.
#pragma once
#include <napi.h>

#include <cerrno>
#include <string>

#include "base/log.h"

namespace nlb {

// Builds `new BpfError(errno, call, lines)` (or VerifierError when the captured lines
// hold a verifier log) using the classes TypeScript registered at init.
Napi::Error MakeBpfError(Napi::Env env, int err, const std::string& call, const std::vector<LogLine>& lines);

// The funnel: every libbpf return convention and every syscall's errno goes through
// these, nothing else reads errno.

// Int returns, libbpf's convention (ret < 0 is -errno): delivers the captured lines and
// throws the BpfError for -ret; else returns ret.
int Check(Napi::Env env, int ret, const char* call, const LogCapture& log);

// A plain syscall's return (ret < 0 with errno set) in libbpf's convention: -errno or ret.
inline int SysResult(long ret) { return ret < 0 ? -errno : static_cast<int>(ret); }

// A plain syscall (ret < 0 with errno set): the same BpfError path as libbpf calls.
inline int CheckSys(Napi::Env env, long ret, const char* call, const LogCapture& log) {
  return Check(env, SysResult(ret), call, log);
}

// mmap(2)'s return (MAP_FAILED with errno set): -errno or 0.
int MmapResult(void* addr);

// mmap(2) (MAP_FAILED with errno set).
void* CheckMmap(Napi::Env env, void* addr, const char* call, const LogCapture& log);

// A call returning a pointer (NULL plus errno): runs `fn` with errno cleared, so a stale
// errno never names the failure; on NULL `err` is the positive errno (EINVAL when the
// callee set none), else 0. For callers that look at the failure before throwing.
template <class F>
auto CallPtr(F fn, int& err) -> decltype(fn()) {
  errno = 0;
  auto ptr = fn();
  err = ptr ? 0 : (errno ? errno : EINVAL);
  return ptr;
}

// The same, throwing the BpfError for `call` on NULL.
template <class F>
auto CheckPtr(Napi::Env env, const char* call, const LogCapture& log, F fn) -> decltype(fn()) {
  int err = 0;
  auto ptr = CallPtr(fn, err);
  if (!ptr) Check(env, -err, call, log);
  return ptr;
}

// TypeError / RangeError built by TypeScript's constructors (so `instanceof TypeError`
// holds in the caller's realm, e.g. under jest's vm contexts).
Napi::Error TypeError(Napi::Env env, const std::string& message);
Napi::Error RangeError(Napi::Env env, const std::string& message);

// Wrong state: one fixed TypeError message per state. The messages are TypeScript's
// (src/ts errors: CLOSED, LINK_DESTROYED, ...), handed over at init with the error
// factories (setErrorFactories' `states`, keyed by kStateKeys), so each exists once.
enum class State {
  kObjectClosed, kObjectNotLoaded, kObjectLoaded, kObjectLoading, kObjectLoadFailed,
  kProgramNotLoaded, kLinkDestroyed, kMapClosed, kMapCreated, kMapNotCreated,
  kIterClosed, kIterBusy, kRingBufferClosed, kPerfBufferClosed, kUserRingBufferClosed,
  kCount
};
extern const char* const kStateKeys[static_cast<int>(State::kCount)];

Napi::Error StateError(Napi::Env env, State state);
[[noreturn]] void ThrowState(Napi::Env env, State state);
// A one-off wrong-state message that only the addon knows.
[[noreturn]] void ThrowState(Napi::Env env, const char* message);

}  // namespace nlb
