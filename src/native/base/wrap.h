// Shared plumbing for the ObjectWrap classes: receiver checks and private construction.
#pragma once
#include <napi.h>
#include <string>

#include "base/errors.h"
#include <vector>

namespace nlb {

// Every native method goes through Checked: the receiver must carry the class's
// napi_type_tag, so `Proto.method.call({})` or a method borrowed onto another native
// class throws a TypeError instead of misreading memory.
// M: a method of T or of a base class T shares (EventBuffer<T>).
template <class T, auto M>
Napi::Value Checked(const Napi::CallbackInfo& info) {
  Napi::Value self = info.This();
  if (!self.IsObject() || !self.As<Napi::Object>().CheckTypeTag(&T::kTypeTag)) {
    throw TypeError(info.Env(), std::string("Illegal invocation: receiver is not a ") + T::kClassName);
  }
  return (T::Unwrap(self.As<Napi::Object>())->*M)(info);
}

template <class T, auto M>
Napi::PropertyDescriptor Method(Napi::Env env, const char* name) {
  return Napi::PropertyDescriptor::Value(name, Napi::Function::New<Checked<T, M>>(env, name), napi_default_method);
}

// Defines a class whose prototype methods are all receiver-checked (V8 templates cannot
// hold function values, so they go on the prototype object after DefineClass).
template <class T>
Napi::Function DefineCheckedClass(Napi::Env env, const std::vector<Napi::ClassPropertyDescriptor<T>>& statics,
                                  const std::vector<Napi::PropertyDescriptor>& methods) {
  Napi::Function ctor = T::DefineClass(env, T::kClassName, statics);
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  for (const auto& m : methods) proto.DefineProperty(m);
  return ctor;
}

// Native classes are only constructed by the addon itself (open(), programs(), ...):
// a Token is live while the addon calls a constructor; `new X()` from JS has none.
class ConstructToken {
 public:
  ConstructToken() { active_ = true; }
  ~ConstructToken() { active_ = false; }
  static void Require(Napi::Env env, const char* cls) {
    if (!active_) throw TypeError(env, std::string("Illegal constructor: ") + cls + " is created by the library");
  }
 private:
  static thread_local bool active_;
};

// Argument helpers for the few checks C++ must make itself (memory safety); the
// friendly validation with one message template lives in TypeScript.
std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Uint8Array BytesArg(const Napi::CallbackInfo& info, size_t i, const char* what);

}  // namespace nlb
