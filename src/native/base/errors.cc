#include "base/errors.h"

#include <sys/mman.h>

#include "base/addon.h"

namespace nlb {

const char* const kClosed = "BpfObject is closed";
const char* const kNotLoaded = "BpfObject is not loaded";
const char* const kLoaded = "BpfObject is already loaded";
const char* const kLoading = "BpfObject is loading";
const char* const kLoadFailed = "BpfObject failed to load; open it again";

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

void ThrowState(Napi::Env env, const char* message) { throw TypeError(env, message); }

}  // namespace nlb
