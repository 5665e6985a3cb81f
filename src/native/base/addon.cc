#include "base/addon.h"

#include <bpf/libbpf.h>

#include "base/errors.h"
#include "base/log.h"
#include "base/wrap.h"
#include "btf/btf.h"
#include "core/iter.h"
#include "core/link.h"
#include "core/map.h"
#include "core/object.h"
#include "core/program.h"
#include "events/perf_buffer.h"
#include "events/ring_buffer.h"
#include "events/user_ring_buffer.h"
#include "probe/probe.h"

namespace nlb {

thread_local bool ConstructToken::active_ = false;

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsString()) throw TypeError(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Uint8Array BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw TypeError(info.Env(), std::string(what) + " must be a Buffer or Uint8Array");
  }
  return info[i].As<Napi::Uint8Array>();
}

// Names libbpf gives map and program types, indexed by the kernel's enum values.
template <class E, const char* (*Str)(E)>
static Napi::Value Names(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  for (uint32_t i = 0; i < 256; i++) {
    const char* s = Str(static_cast<E>(i));
    if (!s) break;
    out.Set(i, s);
  }
  return out;
}

Addon::Addon(Napi::Env env, Napi::Object exports) {
  InstallPrintCallback();
  exports.Set("NativeObject", ObjectHandle::Init(env, this));
  exports.Set("NativeProgram", ProgramHandle::Init(env, this));
  exports.Set("NativeMap", MapHandle::Init(env, this));
  exports.Set("NativeLink", LinkHandle::Init(env, this));
  exports.Set("NativeRingBuffer", RingBufferHandle::Init(env, this));
  exports.Set("NativeIter", IterHandle::Init(env, this));
  exports.Set("NativePerfBuffer", PerfBufferHandle::Init(env, this));
  exports.Set("NativeUserRingBuffer", UserRingBufferHandle::Init(env, this));
  exports.Set("btfToCHeader", Napi::Function::New(env, BtfToCHeader, "btfToCHeader"));
  exports.Set("btfRawData", Napi::Function::New(env, BtfRawData, "btfRawData"));
  exports.Set("btfMinCore", Napi::Function::New(env, BtfMinCore, "btfMinCore"));
  exports.Set("probeProgramType", Napi::Function::New(env, ProbeProgramType, "probeProgramType"));
  exports.Set("probeMapType", Napi::Function::New(env, ProbeMapType, "probeMapType"));
  exports.Set("probeHelper", Napi::Function::New(env, ProbeHelper, "probeHelper"));
  exports.Set("probeAttach", Napi::Function::New(env, ProbeAttach, "probeAttach"));
  exports.Set("helperNames", Napi::Function::New(env, HelperNames, "helperNames"));
  exports.Set("attachTypes", Napi::Function::New(env, AttachTypes, "attachTypes"));
  exports.Set("mapTypes", Napi::Function::New(env, Names<bpf_map_type, libbpf_bpf_map_type_str>, "mapTypes"));
  exports.Set("programTypes", Napi::Function::New(env, Names<bpf_prog_type, libbpf_bpf_prog_type_str>, "programTypes"));
  DefineAddon(exports, {
                           InstanceMethod("setErrorFactories", &Addon::SetErrorFactories),
                           InstanceMethod("setLogger", &Addon::SetLogger),
                           InstanceMethod("numPossibleCpus", &Addon::NumPossibleCpus),
                           InstanceMethod("libbpfVersion", &Addon::LibbpfVersion),
                       });
}

// setErrorFactories({ bpf, type, range, states }): the constructors the addon's errors
// come from, and the wrong-state messages by key (kStateKeys: { objectClosed, ... }).
Napi::Value Addon::SetErrorFactories(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object f = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  for (const char* key : {"bpf", "type", "range"}) {
    if (!f.Get(key).IsFunction()) throw Napi::TypeError::New(env, std::string("factories.") + key + " must be a function");
  }
  if (!f.Get("states").IsObject()) throw Napi::TypeError::New(env, "factories.states must be an object");
  Napi::Object states = f.Get("states").As<Napi::Object>();
  for (int i = 0; i < static_cast<int>(State::kCount); i++) {
    Napi::Value m = states.Get(kStateKeys[i]);
    if (!m.IsString()) throw Napi::TypeError::New(env, std::string("factories.states.") + kStateKeys[i] + " must be a string");
    stateMessages[i] = m.As<Napi::String>().Utf8Value();
  }
  bpfError = Napi::Persistent(f.Get("bpf").As<Napi::Function>());
  typeError = Napi::Persistent(f.Get("type").As<Napi::Function>());
  rangeError = Napi::Persistent(f.Get("range").As<Napi::Function>());
  return env.Undefined();
}

Napi::Value Addon::SetLogger(const Napi::CallbackInfo& info) {
  if (info[0].IsFunction()) {
    logger = Napi::Persistent(info[0].As<Napi::Function>());
  } else {
    logger.Reset();
  }
  if (info[1].IsNumber()) WantLogLevel(info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value Addon::NumPossibleCpus(const Napi::CallbackInfo& info) {
  LogCapture log;
  return Napi::Number::New(info.Env(), Check(info.Env(), libbpf_num_possible_cpus(), "libbpf_num_possible_cpus", log));
}

Napi::Value Addon::LibbpfVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libbpf_version_string());
}

}  // namespace nlb

using NodeLibbpf = nlb::Addon;
NODE_API_ADDON(NodeLibbpf)
