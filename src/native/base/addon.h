// Per-environment state (main thread and each worker thread get their own), so the
// addon is context-aware: constructors, the error factory and the logger live here.
#pragma once
#include <napi.h>

#include <string>

#include "base/errors.h"

namespace nlb {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  static Addon* Of(Napi::Env env) { return env.GetInstanceData<Addon>(); }

  Napi::FunctionReference objectCtor, programCtor, mapCtor, linkCtor;
  Napi::FunctionReference ringBufferCtor, perfBufferCtor, userRingBufferCtor;
  Napi::FunctionReference iterCtor;  // iter.cc
  Napi::FunctionReference bpfError;    // (errno, call, lines) => BpfError
  Napi::FunctionReference typeError;   // (message) => TypeError
  Napi::FunctionReference rangeError;  // (message) => RangeError
  Napi::FunctionReference logger;    // (lines) => void
  std::string stateMessages[static_cast<int>(State::kCount)];  // by State, from TypeScript

 private:
  Napi::Value SetErrorFactories(const Napi::CallbackInfo& info);
  Napi::Value SetLogger(const Napi::CallbackInfo& info);
  Napi::Value NumPossibleCpus(const Napi::CallbackInfo& info);
  Napi::Value LibbpfVersion(const Napi::CallbackInfo& info);
};

}  // namespace nlb
