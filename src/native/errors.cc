#include "errors.h"

#include "addon.h"

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

int Check(Napi::Env env, int ret, const char* call, const LogCapture& log) {
  if (ret >= 0) return ret;
  DeliverLog(env, log.lines);
  throw MakeBpfError(env, -ret, call, log.lines);
}

void ThrowState(Napi::Env env, const char* message) { throw Napi::TypeError::New(env, message); }

}  // namespace nlb
