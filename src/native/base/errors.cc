#include "base/errors.h"

#include <sys/mman.h>

#include "base/addon.h"

namespace nlb {

const char* const kStateKeys[] = {
    "objectClosed", "objectNotLoaded", "objectLoaded", "objectLoading", "objectLoadFailed",
    "programNotLoaded", "linkDestroyed", "mapClosed", "mapCreated", "mapNotCreated",
    "iterClosed", "iterBusy", "ringBufferClosed", "perfBufferClosed", "userRingBufferClosed",
};
static_assert(sizeof kStateKeys / sizeof kStateKeys[0] == static_cast<size_t>(State::kCount));

Napi::Error MakeBpfError(Napi::Env env, int err, const std::string& call, const std::vector<LogLine>& lines) {
  Addon* addon = Addon::Of(env);
  if (addon->bpfError.IsEmpty()) {
    return Napi::Error::New(env, call + " failed: errno " + std::to_string(err));
  }
  Napi::Value e = addon->bpfError.Value().Call({Napi::Number::New(env, err), Napi::String::New(env, call),
                                                LinesToArray(env, lines)});
  return Napi::Error(env, e);
}

static Napi::Error FromFactory(Napi::Env env, Napi::FunctionReference& factory, const std::string& message,
                               Napi::Error (*fallback)(napi_env, const std::string&)) {
  if (factory.IsEmpty()) return fallback(env, message);
  return Napi::Error(env, factory.Value().Call({Napi::String::New(env, message)}));
}

Napi::Error TypeError(Napi::Env env, const std::string& message) {
  return FromFactory(env, Addon::Of(env)->typeError, message,
                     [](napi_env e, const std::string& m) -> Napi::Error { return Napi::TypeError::New(e, m); });
}

Napi::Error RangeError(Napi::Env env, const std::string& message) {
  return FromFactory(env, Addon::Of(env)->rangeError, message,
                     [](napi_env e, const std::string& m) -> Napi::Error { return Napi::RangeError::New(e, m); });
}

int Check(Napi::Env env, int ret, const char* call, const LogCapture& log) {
  if (ret >= 0) return ret;
  DeliverLog(env, log.lines);
  throw MakeBpfError(env, -ret, call, log.lines);
}

int MmapResult(void* addr) { return addr == MAP_FAILED ? -errno : 0; }

void* CheckMmap(Napi::Env env, void* addr, const char* call, const LogCapture& log) {
  Check(env, MmapResult(addr), call, log);
  return addr;
}

// Before TypeScript handed the messages over (never, through the package), the key.
Napi::Error StateError(Napi::Env env, State state) {
  const std::string& message = Addon::Of(env)->stateMessages[static_cast<int>(state)];
  return TypeError(env, message.empty() ? kStateKeys[static_cast<int>(state)] : message);
}

void ThrowState(Napi::Env env, State state) { throw StateError(env, state); }

void ThrowState(Napi::Env env, const char* message) { throw TypeError(env, message); }

}  // namespace nlb
