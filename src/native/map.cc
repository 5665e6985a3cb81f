#include "map.h"

#include "addon.h"
#include "errors.h"
#include "object.h"
#include "wrap.h"

namespace nlb {

const napi_type_tag MapHandle::kTypeTag = {0x6e6c626d61700000ULL, 0xc4a1f0e2873b5d6aULL};

Napi::Function MapHandle::Init(Napi::Env env, Addon* addon) {
  using M = MapHandle;
  Napi::Function ctor = DefineCheckedClass<M>(env, {},
                                    {
                                        Method<M, &M::Name>(env, "name"),
                                        Method<M, &M::Type>(env, "type"),
                                        Method<M, &M::KeySize>(env, "keySize"),
                                        Method<M, &M::ValueSize>(env, "valueSize"),
                                        Method<M, &M::MaxEntries>(env, "maxEntries"),
                                        Method<M, &M::SetMaxEntries>(env, "setMaxEntries"),
                                        Method<M, &M::Flags>(env, "flags"),
                                        Method<M, &M::IsInternal>(env, "isInternal"),
                                        Method<M, &M::BtfKeyTypeId>(env, "btfKeyTypeId"),
                                        Method<M, &M::BtfValueTypeId>(env, "btfValueTypeId"),
                                        Method<M, &M::Fd>(env, "fd"),
                                        Method<M, &M::Lookup>(env, "lookup"),
                                        Method<M, &M::Update>(env, "update"),
                                        Method<M, &M::Delete>(env, "delete"),
                                        Method<M, &M::NextKey>(env, "nextKey"),
                                        Method<M, &M::Memory>(env, "memory"),
                                        Method<M, &M::Pin>(env, "pin"),
                                        Method<M, &M::Unpin>(env, "unpin"),
                                        Method<M, &M::PinPath>(env, "pinPath"),
                                    });
  addon->mapCtor = Napi::Persistent(ctor);
  return ctor;
}

Napi::Object MapHandle::New(Napi::Env env, Napi::Object owner, bpf_map* map) {
  ConstructToken token;
  return Addon::Of(env)->mapCtor.New({owner, Napi::External<bpf_map>::New(env, map)});
}

MapHandle::MapHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MapHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  ownerRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  owner_ = ObjectHandle::Unwrap(info[0].As<Napi::Object>());
  map_ = info[1].As<Napi::External<bpf_map>>().Data();
}

bpf_map* MapHandle::Get(Napi::Env env) const {
  owner_->Get(env);
  return map_;
}

bpf_map* MapHandle::Loaded(Napi::Env env) const {
  owner_->RequireLoaded(env);
  return map_;
}

Napi::Value MapHandle::Name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), bpf_map__name(Get(info.Env())));
}

Napi::Value MapHandle::Type(const Napi::CallbackInfo& info) {
  const char* s = libbpf_bpf_map_type_str(bpf_map__type(Get(info.Env())));
  return Napi::String::New(info.Env(), s ? s : "unknown");
}

Napi::Value MapHandle::KeySize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__key_size(Get(info.Env())));
}

Napi::Value MapHandle::ValueSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__value_size(Get(info.Env())));
}

Napi::Value MapHandle::MaxEntries(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__max_entries(Get(info.Env())));
}

Napi::Value MapHandle::SetMaxEntries(const Napi::CallbackInfo& info) {
  owner_->RequireNotLoaded(info.Env());
  LogCapture log;
  Check(info.Env(), bpf_map__set_max_entries(map_, info[0].As<Napi::Number>().Uint32Value()),
        "bpf_map__set_max_entries", log);
  return info.Env().Undefined();
}

Napi::Value MapHandle::Flags(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__map_flags(Get(info.Env())));
}

Napi::Value MapHandle::IsInternal(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), bpf_map__is_internal(Get(info.Env())));
}

Napi::Value MapHandle::BtfKeyTypeId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__btf_key_type_id(Get(info.Env())));
}

Napi::Value MapHandle::BtfValueTypeId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__btf_value_type_id(Get(info.Env())));
}

Napi::Value MapHandle::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_map__fd(Loaded(info.Env())));
}

static uint64_t FlagsArg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsNumber() ? static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value()) : 0;
}

// The bpf_map__* element functions check key and value sizes against the map
// (per-CPU values included), so a wrong-sized buffer is an EINVAL, never an overrun.
// lookup(key, valueOut, flags) -> found
Napi::Value MapHandle::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Loaded(env);
  Napi::Uint8Array key = BytesArg(info, 0, "key"), value = BytesArg(info, 1, "value");
  LogCapture log;
  int ret = bpf_map__lookup_elem(map, key.Data(), key.ByteLength(), value.Data(), value.ByteLength(), FlagsArg(info, 2));
  if (ret == -ENOENT) return Napi::Boolean::New(env, false);
  Check(env, ret, "bpf_map_lookup_elem", log);
  return Napi::Boolean::New(env, true);
}

Napi::Value MapHandle::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Loaded(env);
  Napi::Uint8Array key = BytesArg(info, 0, "key"), value = BytesArg(info, 1, "value");
  LogCapture log;
  Check(env, bpf_map__update_elem(map, key.Data(), key.ByteLength(), value.Data(), value.ByteLength(), FlagsArg(info, 2)),
        "bpf_map_update_elem", log);
  return env.Undefined();
}

Napi::Value MapHandle::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Loaded(env);
  Napi::Uint8Array key = BytesArg(info, 0, "key");
  LogCapture log;
  int ret = bpf_map__delete_elem(map, key.Data(), key.ByteLength(), FlagsArg(info, 1));
  if (ret == -ENOENT) return Napi::Boolean::New(env, false);
  Check(env, ret, "bpf_map_delete_elem", log);
  return Napi::Boolean::New(env, true);
}

// nextKey(keyOrNull, keyOut) -> false at the end of the map
Napi::Value MapHandle::NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Loaded(env);
  Napi::Uint8Array next = BytesArg(info, 1, "next key");
  const void* cur = nullptr;
  if (!info[0].IsNull()) {
    Napi::Uint8Array key = BytesArg(info, 0, "key");
    if (key.ByteLength() != next.ByteLength()) throw RangeError(env, "key and next key differ in size");
    cur = key.Data();
  }
  LogCapture log;
  int ret = bpf_map__get_next_key(map, cur, next.Data(), next.ByteLength());
  if (ret == -ENOENT) return Napi::Boolean::New(env, false);
  Check(env, ret, "bpf_map_get_next_key", log);
  return Napi::Boolean::New(env, true);
}

// The map's mmap()ed memory (.data/.bss/.rodata and other mmapable arrays): before
// load libbpf's initial image, after load the same address remapped onto the kernel
// map, so one view serves both. Null when the map has none.
Napi::Value MapHandle::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t size = 0;
  void* data = bpf_map__initial_value(Get(env), &size);
  if (!data || !size) return env.Null();
  return owner_->TrackMemory(env, data, size);
}

Napi::Value MapHandle::Pin(const Napi::CallbackInfo& info) {
  bpf_map* map = Loaded(info.Env());
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  Check(info.Env(), bpf_map__pin(map, path.c_str()), "bpf_map__pin", log);
  return info.Env().Undefined();
}

Napi::Value MapHandle::Unpin(const Napi::CallbackInfo& info) {
  bpf_map* map = Loaded(info.Env());
  LogCapture log;
  if (info[0].IsString()) {
    std::string path = StringArg(info, 0, "path");
    Check(info.Env(), bpf_map__unpin(map, path.c_str()), "bpf_map__unpin", log);
  } else {
    Check(info.Env(), bpf_map__unpin(map, nullptr), "bpf_map__unpin", log);
  }
  return info.Env().Undefined();
}

Napi::Value MapHandle::PinPath(const Napi::CallbackInfo& info) {
  bpf_map* map = Get(info.Env());
  const char* path = bpf_map__is_pinned(map) ? bpf_map__pin_path(map) : nullptr;  // libbpf keeps it after unpin
  return path ? Napi::String::New(info.Env(), path) : info.Env().Null();
}

}  // namespace nlb
