// NativeMap: a borrowed view of one bpf_map of a NativeObject. Byte-level operations
// only; sizes are checked here (memory safety), codecs live in TypeScript.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

namespace nlb {

class Addon;
class ObjectHandle;

class MapHandle : public Napi::ObjectWrap<MapHandle> {
 public:
  static constexpr const char* kClassName = "NativeMap";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);
  static Napi::Object New(Napi::Env env, Napi::Object owner, bpf_map* map);

  explicit MapHandle(const Napi::CallbackInfo& info);

 private:
  bpf_map* Get(Napi::Env env) const;
  bpf_map* Loaded(Napi::Env env) const;

  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Type(const Napi::CallbackInfo& info);
  Napi::Value KeySize(const Napi::CallbackInfo& info);
  Napi::Value ValueSize(const Napi::CallbackInfo& info);
  Napi::Value MaxEntries(const Napi::CallbackInfo& info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value Flags(const Napi::CallbackInfo& info);
  Napi::Value IsInternal(const Napi::CallbackInfo& info);
  Napi::Value BtfKeyTypeId(const Napi::CallbackInfo& info);
  Napi::Value BtfValueTypeId(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value NextKey(const Napi::CallbackInfo& info);
  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value PinPath(const Napi::CallbackInfo& info);

  ObjectHandle* owner_;
  Napi::ObjectReference ownerRef_;
  bpf_map* map_;
};

}  // namespace nlb
