#include "core/map.h"

#include <bpf/btf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/link.h"
#include "core/object.h"

namespace nlb {

const napi_type_tag MapHandle::kTypeTag = {0x6e6c626d61700000ULL, 0xc4a1f0e2873b5d6aULL};

Napi::Function MapHandle::Init(Napi::Env env, Addon* addon) {
  using M = MapHandle;
  Napi::Function ctor = DefineCheckedClass<M>(
      env,
      {
          StaticMethod("create", &M::Create),
          StaticMethod("fromPinned", &M::FromPinned),
          StaticMethod("fromId", &M::FromId),
          StaticMethod("btfById", &M::BtfById),
      },
      {
          Method<M, &M::Name>(env, "name"),
          Method<M, &M::Type>(env, "type"),
          Method<M, &M::KeySize>(env, "keySize"),
          Method<M, &M::ValueSize>(env, "valueSize"),
          Method<M, &M::MaxEntries>(env, "maxEntries"),
          Method<M, &M::Flags>(env, "flags"),
          Method<M, &M::IsInternal>(env, "isInternal"),
          Method<M, &M::IsStandalone>(env, "isStandalone"),
          Method<M, &M::BtfKeyTypeId>(env, "btfKeyTypeId"),
          Method<M, &M::BtfValueTypeId>(env, "btfValueTypeId"),
          Method<M, &M::SetMaxEntries>(env, "setMaxEntries"),
          Method<M, &M::SetKeySize>(env, "setKeySize"),
          Method<M, &M::SetValueSize>(env, "setValueSize"),
          Method<M, &M::SetFlags>(env, "setFlags"),
          Method<M, &M::SetNumaNode>(env, "setNumaNode"),
          Method<M, &M::SetMapExtra>(env, "setMapExtra"),
          Method<M, &M::SetInnerMap>(env, "setInnerMap"),
          Method<M, &M::ReuseFd>(env, "reuseFd"),
          Method<M, &M::Autocreate>(env, "autocreate"),
          Method<M, &M::SetAutocreate>(env, "setAutocreate"),
          Method<M, &M::FdValue>(env, "fd"),
          Method<M, &M::Lookup>(env, "lookup"),
          Method<M, &M::Update>(env, "update"),
          Method<M, &M::Delete>(env, "delete"),
          Method<M, &M::LookupAndDelete>(env, "lookupAndDelete"),
          Method<M, &M::NextKey>(env, "nextKey"),
          Method<M, &M::LookupBatch>(env, "lookupBatch"),
          Method<M, &M::UpdateBatch>(env, "updateBatch"),
          Method<M, &M::DeleteBatch>(env, "deleteBatch"),
          Method<M, &M::BindSlots>(env, "bindSlots"),
          Method<M, &M::Freeze>(env, "freeze"),
          Method<M, &M::AttachStructOps>(env, "attachStructOps"),
          Method<M, &M::InfoValue>(env, "info"),
          Method<M, &M::Memory>(env, "memory"),
          Method<M, &M::MemoryReadOnly>(env, "memoryReadOnly"),
          Method<M, &M::Pin>(env, "pin"),
          Method<M, &M::Unpin>(env, "unpin"),
          Method<M, &M::PinPath>(env, "pinPath"),
          Method<M, &M::Close>(env, "close"),
      });
  addon->mapCtor = Napi::Persistent(ctor);
  return ctor;
}

Napi::Object MapHandle::New(Napi::Env env, Napi::Object owner, bpf_map* map) {
  ConstructToken token;
  return Addon::Of(env)->mapCtor.New({owner, Napi::External<bpf_map>::New(env, map)});
}

Napi::Object MapHandle::Standalone(Napi::Env env, int fd) {
  Napi::Object js;
  {
    ConstructToken token;
    js = Addon::Of(env)->mapCtor.New({env.Null(), Napi::Number::New(env, fd)});
  }
  MapHandle* self = Unwrap(js);
  LogCapture log;
  uint32_t len = sizeof self->info_;
  Check(env, bpf_map_get_info_by_fd(fd, &self->info_, &len), "bpf_map_get_info_by_fd", log);
  self->haveInfo_ = true;
  return js;
}

MapHandle::MapHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MapHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  if (info[0].IsObject()) {
    ownerRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    owner_ = ObjectHandle::Unwrap(info[0].As<Napi::Object>());
    map_ = info[1].As<Napi::External<bpf_map>>().Data();
    btfKeyId_ = bpf_map__btf_key_type_id(map_);
    btfValueId_ = bpf_map__btf_value_type_id(map_);
  } else {
    fd_ = info[1].As<Napi::Number>().Int32Value();
  }
}

MapHandle::~MapHandle() { CloseStandalone(false); }

void MapHandle::CloseStandalone(bool detachView) {
  if (owner_ || closed_) return;
  closed_ = true;
  if (detachView && !view_.IsEmpty() && !view_.Value().IsEmpty()) view_.Value().Detach();
  if (mmaped_) munmap(mmaped_, mmapSize_);
  mmaped_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int MapHandle::Fd(Napi::Env env) const {
  if (owner_) {
    owner_->RequireLoaded(env);
    // libbpf leaves a map it did not create with a placeholder fd (a memfd), not -1.
    if (!bpf_map__autocreate(map_)) ThrowState(env, State::kMapNotCreated);
    return bpf_map__fd(map_);
  }
  if (closed_) ThrowState(env, State::kMapClosed);
  return fd_;
}

bpf_map* MapHandle::Preload(Napi::Env env) const {
  if (!owner_) ThrowState(env, closed_ ? State::kMapClosed : State::kMapCreated);
  owner_->RequireNotLoaded(env);
  return map_;
}

const bpf_map_info& MapHandle::Info(Napi::Env env) {
  if (closed_) ThrowState(env, State::kMapClosed);
  return info_;
}

// Properties come from libbpf for an object's map (they may change until load) and
// from the kernel for a standalone one.
uint32_t MapHandle::KeySz(Napi::Env env) {
  if (owner_) return (owner_->Get(env), bpf_map__key_size(map_));
  return Info(env).key_size;
}

uint32_t MapHandle::ValueSz(Napi::Env env) {
  if (owner_) return (owner_->Get(env), bpf_map__value_size(map_));
  return Info(env).value_size;
}

uint32_t MapHandle::TypeId(Napi::Env env) {
  if (owner_) return (owner_->Get(env), bpf_map__type(map_));
  return Info(env).type;
}

static bool IsPerCpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

uint32_t MapHandle::ValueStride(Napi::Env env) {
  uint32_t size = ValueSz(env);
  if (!IsPerCpu(TypeId(env))) return size;
  static int cpus = libbpf_num_possible_cpus();
  return ((size + 7) / 8 * 8) * static_cast<uint32_t>(cpus > 0 ? cpus : 1);
}

// A key argument: null for maps without keys (queue, stack, bloom filter), else exactly
// `count` keys' bytes (at least, for batches).
void* MapHandle::KeyArg(const Napi::CallbackInfo& info, size_t i, uint32_t count) {
  Napi::Env env = info.Env();
  uint32_t size = KeySz(env);
  if (info[i].IsNull() || info[i].IsUndefined()) {
    if (size) throw TypeError(env, "key must be a Buffer of " + std::to_string(size) + " bytes");
    return nullptr;
  }
  Napi::Uint8Array bytes = BytesArg(info, i, "key");
  size_t need = static_cast<size_t>(size) * count;
  if (count == 1 ? bytes.ByteLength() != need : bytes.ByteLength() < need) {
    throw RangeError(env, "keys must be " + std::to_string(need) + " bytes, got " + std::to_string(bytes.ByteLength()));
  }
  return bytes.Data();
}

void* MapHandle::ValueArg(const Napi::CallbackInfo& info, size_t i, uint32_t count) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = BytesArg(info, i, "value");
  size_t need = static_cast<size_t>(ValueStride(env)) * count;
  if (count == 1 ? bytes.ByteLength() != need : bytes.ByteLength() < need) {
    throw RangeError(env, "values must be " + std::to_string(need) + " bytes, got " + std::to_string(bytes.ByteLength()));
  }
  return bytes.Data();
}

static uint64_t U64Arg(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().Int64Value()) : 0;
}

Napi::Value MapHandle::Name(const Napi::CallbackInfo& info) {
  if (owner_) return Napi::String::New(info.Env(), (owner_->Get(info.Env()), bpf_map__name(map_)));
  return Napi::String::New(info.Env(), Info(info.Env()).name);
}

Napi::Value MapHandle::Type(const Napi::CallbackInfo& info) {
  const char* s = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(TypeId(info.Env())));
  return Napi::String::New(info.Env(), s ? s : "unknown");
}

Napi::Value MapHandle::KeySize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), KeySz(info.Env())); }

Napi::Value MapHandle::ValueSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ValueSz(info.Env()));
}

Napi::Value MapHandle::MaxEntries(const Napi::CallbackInfo& info) {
  if (owner_) return Napi::Number::New(info.Env(), (owner_->Get(info.Env()), bpf_map__max_entries(map_)));
  return Napi::Number::New(info.Env(), Info(info.Env()).max_entries);
}

Napi::Value MapHandle::Flags(const Napi::CallbackInfo& info) {
  if (owner_) return Napi::Number::New(info.Env(), (owner_->Get(info.Env()), bpf_map__map_flags(map_)));
  return Napi::Number::New(info.Env(), Info(info.Env()).map_flags);
}

Napi::Value MapHandle::IsInternal(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), owner_ && (owner_->Get(info.Env()), bpf_map__is_internal(map_)));
}

Napi::Value MapHandle::IsStandalone(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), owner_ == nullptr);
}

Napi::Value MapHandle::BtfKeyTypeId(const Napi::CallbackInfo& info) {
  if (owner_) return Napi::Number::New(info.Env(), (owner_->Get(info.Env()), btfKeyId_));
  return Napi::Number::New(info.Env(), Info(info.Env()).btf_key_type_id);
}

Napi::Value MapHandle::BtfValueTypeId(const Napi::CallbackInfo& info) {
  if (owner_) {
    // Internal maps get their DATASEC id from libbpf; the opened id may be 0 for them.
    owner_->Get(info.Env());
    return Napi::Number::New(info.Env(), btfValueId_ ? btfValueId_ : bpf_map__btf_value_type_id(map_));
  }
  return Napi::Number::New(info.Env(), Info(info.Env()).btf_value_type_id);
}

// Pre-load shaping of an object's map: libbpf refuses changes after load.
#define NLB_PRELOAD_SETTER(Method, call, Arg)                                   \
  Napi::Value MapHandle::Method(const Napi::CallbackInfo& info) {               \
    bpf_map* map = Preload(info.Env());                                         \
    LogCapture log;                                                             \
    Check(info.Env(), call(map, Arg(info[0])), #call, log);                     \
    return info.Env().Undefined();                                              \
  }
static uint32_t U32Arg(const Napi::Value& v) { return v.As<Napi::Number>().Uint32Value(); }
NLB_PRELOAD_SETTER(SetMaxEntries, bpf_map__set_max_entries, U32Arg)
NLB_PRELOAD_SETTER(SetKeySize, bpf_map__set_key_size, U32Arg)
NLB_PRELOAD_SETTER(SetFlags, bpf_map__set_map_flags, U32Arg)
NLB_PRELOAD_SETTER(SetMapExtra, bpf_map__set_map_extra, U64Arg)
#undef NLB_PRELOAD_SETTER

// The kernel honours numa_node only with BPF_F_NUMA_NODE set.
Napi::Value MapHandle::SetNumaNode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Preload(env);
  LogCapture log;
  Check(env, bpf_map__set_numa_node(map, U32Arg(info[0])), "bpf_map__set_numa_node", log);
  Check(env, bpf_map__set_map_flags(map, bpf_map__map_flags(map) | BPF_F_NUMA_NODE), "bpf_map__set_map_flags", log);
  return env.Undefined();
}

// Resizing .data/.bss makes libbpf move their memory: views over the old one go.
Napi::Value MapHandle::SetValueSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Preload(env);
  size_t size = 0;
  void* before = bpf_map__initial_value(map, &size);
  LogCapture log;
  Check(env, bpf_map__set_value_size(map, U32Arg(info[0])), "bpf_map__set_value_size", log);
  if (before && before != bpf_map__initial_value(map, &size)) owner_->DetachMemory(before);
  return env.Undefined();
}

// The inner map of a map-in-map: a template whose fd libbpf uses at load.
Napi::Value MapHandle::SetInnerMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Preload(env);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kTypeTag)) {
    throw TypeError(env, "inner map must be a NativeMap");
  }
  int innerFd = Unwrap(info[0].As<Napi::Object>())->Fd(env);
  LogCapture log;
  Check(env, bpf_map__set_inner_map_fd(map, innerFd), "bpf_map__set_inner_map_fd", log);
  return env.Undefined();
}

// Before load: make this map the kernel map `other` is (BpfObject.upgrade keeps state).
// libbpf dups the fd; load then skips creating (and initializing) this map.
Napi::Value MapHandle::ReuseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map* map = Preload(env);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kTypeTag)) {
    throw TypeError(env, "map must be a NativeMap");
  }
  int fd = Unwrap(info[0].As<Napi::Object>())->Fd(env);
  LogCapture log;
  Check(env, bpf_map__reuse_fd(map, fd), "bpf_map__reuse_fd", log);
  if (owner_) owner_->MarkReused(map);
  return env.Undefined();
}

// Whether load() creates this map. A standalone map exists from the start.
Napi::Value MapHandle::Autocreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (owner_) return Napi::Boolean::New(env, (owner_->Get(env), bpf_map__autocreate(map_)));
  if (closed_) ThrowState(env, State::kMapClosed);
  return Napi::Boolean::New(env, true);
}

Napi::Value MapHandle::SetAutocreate(const Napi::CallbackInfo& info) {
  bpf_map* map = Preload(info.Env());
  LogCapture log;
  Check(info.Env(), bpf_map__set_autocreate(map, info[0].ToBoolean()), "bpf_map__set_autocreate", log);
  return info.Env().Undefined();
}

Napi::Value MapHandle::FdValue(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Fd(info.Env())); }

static uint64_t FlagsArg(const Napi::CallbackInfo& info, size_t i) { return U64Arg(info[i]); }

// For lookups, deletes and next-key, -ENOENT is an answer ("not there"), not an error.
// (The fd-level bpf_map_* calls print nothing through libbpf's logger.)
static Napi::Value Found(Napi::Env env, int ret, const char* call) {
  if (ret == 0) return Napi::Boolean::New(env, true);
  if (ret == -ENOENT) return Napi::Boolean::New(env, false);
  LogCapture log;
  Check(env, ret, call, log);
  return Napi::Boolean::New(env, true);
}

// lookup(key | null, valueOut, flags) -> found. A null key peeks a queue/stack; for a
// bloom filter the value is the element to test.
Napi::Value MapHandle::Lookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  void* key = KeyArg(info, 0);
  void* value = ValueArg(info, 1);
  return Found(env, bpf_map_lookup_elem_flags(fd, key, value, FlagsArg(info, 2)), "bpf_map_lookup_elem");
}

// update(key | null, value, flags): a null key pushes onto a queue/stack or adds to a
// bloom filter.
Napi::Value MapHandle::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  void* key = KeyArg(info, 0);
  void* value = ValueArg(info, 1);
  LogCapture log;
  Check(env, bpf_map_update_elem(fd, key, value, FlagsArg(info, 2)), "bpf_map_update_elem", log);
  return env.Undefined();
}

Napi::Value MapHandle::Delete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  void* key = KeyArg(info, 0);
  return Found(env, bpf_map_delete_elem_flags(fd, key, FlagsArg(info, 1)), "bpf_map_delete_elem");
}

// lookupAndDelete(key | null, valueOut, flags) -> found: pops a queue/stack with a null key.
Napi::Value MapHandle::LookupAndDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  void* key = KeyArg(info, 0);
  void* value = ValueArg(info, 1);
  return Found(env, bpf_map_lookup_and_delete_elem_flags(fd, key, value, FlagsArg(info, 2)), "bpf_map_lookup_and_delete_elem");
}

// nextKey(keyOrNull, keyOut) -> false at the end of the map
Napi::Value MapHandle::NextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  void* next = KeyArg(info, 1);
  void* cur = info[0].IsNull() ? nullptr : KeyArg(info, 0);
  return Found(env, bpf_map_get_next_key(fd, cur, next), "bpf_map_get_next_key");
}

// lookupBatch(andDelete, inToken | null, outToken, keysOut, valuesOut, count, elemFlags)
//   -> { count, done }. Tokens are opaque cursors of max(keySize, 4) bytes.
Napi::Value MapHandle::LookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  bool andDelete = info[0].ToBoolean();
  uint32_t count = info[5].As<Napi::Number>().Uint32Value();
  size_t tokenSize = std::max<size_t>(KeySz(env), 4);
  Napi::Uint8Array out = BytesArg(info, 2, "out token");
  void* in = nullptr;
  if (!info[1].IsNull()) {
    Napi::Uint8Array tok = BytesArg(info, 1, "in token");
    if (tok.ByteLength() < tokenSize) throw RangeError(env, "in token is too small");
    in = tok.Data();
  }
  if (out.ByteLength() < tokenSize) throw RangeError(env, "out token is too small");
  void* keys = KeyArg(info, 3, count);
  void* values = ValueArg(info, 4, count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = FlagsArg(info, 6));
  LogCapture log;
  int ret = andDelete ? bpf_map_lookup_and_delete_batch(fd, in, out.Data(), keys, values, &count, &opts)
                      : bpf_map_lookup_batch(fd, in, out.Data(), keys, values, &count, &opts);
  bool done = ret == -ENOENT;
  if (!done) Check(env, ret, andDelete ? "bpf_map_lookup_and_delete_batch" : "bpf_map_lookup_batch", log);
  Napi::Object result = Napi::Object::New(env);
  result.Set("count", count);
  result.Set("done", done);
  return result;
}

// updateBatch(keys, values, count, elemFlags) -> count
Napi::Value MapHandle::UpdateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  void* keys = KeyArg(info, 0, count);
  void* values = ValueArg(info, 1, count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = FlagsArg(info, 3));
  LogCapture log;
  Check(env, bpf_map_update_batch(fd, keys, values, &count, &opts), "bpf_map_update_batch", log);
  return Napi::Number::New(env, count);
}

// deleteBatch(keys, count, elemFlags) -> count
Napi::Value MapHandle::DeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  uint32_t count = info[1].As<Napi::Number>().Uint32Value();
  void* keys = KeyArg(info, 0, count);
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = FlagsArg(info, 2));
  LogCapture log;
  int ret = bpf_map_delete_batch(fd, keys, &count, &opts);
  if (ret != -ENOENT) Check(env, ret, "bpf_map_delete_batch", log);
  return Napi::Number::New(env, count);
}

// bindSlots(key | null, value) -> { lookup, update, delete, lookupAndDelete }: the
// buffers that single-element calls use, and those calls as functions bound to this map.
// The buffers are referenced, so their memory stays put; sizes are re-checked on every
// call because an object's map may be reshaped before load.
//
// The operations are bound functions (this handle is their data pointer), not prototype
// methods: a get() or set() is one syscall between two buffers, and a method's receiver
// check (a private-symbol lookup) and unwrap were a tenth of its time. Each function
// holds this map's JS object as a property, so the handle outlives every one of them.
Napi::Value MapHandle::BindSlots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  slotFd_ = -1;
  keySlot_ = KeyArg(info, 0);
  keySlotSize_ = KeySz(env);
  keySlotRef_ = keySlot_ ? Napi::Persistent(info[0].As<Napi::Uint8Array>()) : Napi::Reference<Napi::Uint8Array>();
  valueSlot_ = ValueArg(info, 1);
  valueSlotSize_ = ValueStride(env);
  valueSlotRef_ = Napi::Persistent(info[1].As<Napi::Uint8Array>());
  Napi::Object ops = Napi::Object::New(env);
  auto bind = [&](const char* name, Napi::Function fn) {
    fn.DefineProperty(Napi::PropertyDescriptor::Value("map", Value(), napi_default));
    ops.Set(name, fn);
  };
  bind("lookup", Napi::Function::New<SlotCall<kSlotLookup>>(env, "lookup", this));
  bind("update", Napi::Function::New<SlotCall<kSlotUpdate>>(env, "update", this));
  bind("delete", Napi::Function::New<SlotCall<kSlotDelete>>(env, "delete", this));
  bind("lookupAndDelete", Napi::Function::New<SlotCall<kSlotLookupAndDelete>>(env, "lookupAndDelete", this));
  return ops;
}

void MapHandle::CheckSlots(Napi::Env env) {
  if (!valueSlot_ || keySlotSize_ != KeySz(env) || valueSlotSize_ != ValueStride(env)) {
    throw TypeError(env, "map slots are unbound or stale: call bindSlots()");
  }
}

// The map's fd for the slot calls, after the checks Fd() and CheckSlots() make. Once an
// object's map is loaded (a standalone map: always), nothing they check can change until
// the object (the map) closes, so until then the fd they passed is reused as is.
int MapHandle::SlotFd(Napi::Env env) {
  if (slotFd_ >= 0 && (owner_ ? owner_->IsLoaded() : !closed_)) return slotFd_;
  int fd = Fd(env);
  CheckSlots(env);
  if (!owner_ || owner_->IsLoaded()) slotFd_ = fd;
  return fd;
}

// The slot calls' flags: a number (what TypeScript passes) in one N-API call, else as
// FlagsArg takes them (a bigint; undefined: 0).
static uint64_t SlotFlags(Napi::Env env, const Napi::CallbackInfo& info) {
  int64_t flags;
  if (napi_get_value_int64(env, info[0], &flags) == napi_ok) return static_cast<uint64_t>(flags);
  return FlagsArg(info, 0);
}

// lookup(flags) -> found, update(flags), delete(flags) -> found,
// lookupAndDelete(flags) -> found: on the bound key and value buffers.
template <MapHandle::SlotOp Op>
Napi::Value MapHandle::SlotCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MapHandle* self = static_cast<MapHandle*>(info.Data());
  int fd = self->SlotFd(env);
  uint64_t flags = SlotFlags(env, info);
  int ret;
  const char* call;
  switch (Op) {
    case kSlotLookup:
      ret = bpf_map_lookup_elem_flags(fd, self->keySlot_, self->valueSlot_, flags), call = "bpf_map_lookup_elem";
      break;
    case kSlotUpdate:
      ret = bpf_map_update_elem(fd, self->keySlot_, self->valueSlot_, flags);
      if (ret) {
        LogCapture log;
        Check(env, ret, "bpf_map_update_elem", log);
      }
      return Napi::Value();  // undefined, without asking for it
    case kSlotDelete:
      ret = bpf_map_delete_elem_flags(fd, self->keySlot_, flags), call = "bpf_map_delete_elem";
      break;
    case kSlotLookupAndDelete:
      ret = bpf_map_lookup_and_delete_elem_flags(fd, self->keySlot_, self->valueSlot_, flags);
      call = "bpf_map_lookup_and_delete_elem";
      break;
  }
  return Found(env, ret, call);
}

Napi::Value MapHandle::Freeze(const Napi::CallbackInfo& info) {
  LogCapture log;
  Check(info.Env(), bpf_map_freeze(Fd(info.Env())), "bpf_map_freeze", log);
  return info.Env().Undefined();
}

// attachStructOps() -> a Link: registers a loaded struct_ops map's implementation with
// the kernel subsystem it names (a TCP congestion control, a sched_ext scheduler, ...);
// destroying the link unregisters it. Only maps of an object carry the programs.
Napi::Value MapHandle::AttachStructOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!owner_ && closed_) ThrowState(env, State::kMapClosed);
  if (!owner_) ThrowState(env, "attachStructOps() needs a struct_ops map of a BpfObject");
  Fd(env);  // loaded and created
  LogCapture log;
  bpf_link* link = CheckPtr(env, "bpf_map__attach_struct_ops", log, [&] { return bpf_map__attach_struct_ops(map_); });
  return LinkHandle::New(env, ownerRef_.Value(), owner_, link);
}

// info() -> what the kernel reports for the live map.
Napi::Value MapHandle::InfoValue(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_map_info i = {};
  uint32_t len = sizeof i;
  LogCapture log;
  Check(env, bpf_map_get_info_by_fd(Fd(env), &i, &len), "bpf_map_get_info_by_fd", log);
  Napi::Object out = Napi::Object::New(env);
  const char* type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(i.type));
  out.Set("id", i.id);
  out.Set("type", type ? type : "unknown");
  out.Set("name", i.name);
  out.Set("keySize", i.key_size);
  out.Set("valueSize", i.value_size);
  out.Set("maxEntries", i.max_entries);
  out.Set("flags", i.map_flags);
  out.Set("btfId", i.btf_id);
  out.Set("btfKeyTypeId", i.btf_key_type_id);
  out.Set("btfValueTypeId", i.btf_value_type_id);
  out.Set("mapExtra", Napi::BigInt::New(env, static_cast<uint64_t>(i.map_extra)));
  out.Set("ifindex", i.ifindex);
  return out;
}

// Live memory: .data/.bss/.rodata of an object (libbpf's mapping), or an mmap() of a
// BPF_F_MMAPABLE array. Null when the map has none.
Napi::Value MapHandle::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (owner_) {
    owner_->Get(env);
    // Not created: libbpf's memory of it is no longer the map's (there is no map).
    if (owner_->IsLoaded() && !bpf_map__autocreate(map_)) ThrowState(env, State::kMapNotCreated);
    size_t size = 0;
    void* data = bpf_map__initial_value(map_, &size);
    if (data && size) return owner_->TrackMemory(env, data, size, false);
  }
  bool mmapable = (owner_ ? bpf_map__map_flags(map_) : Info(env).map_flags) & BPF_F_MMAPABLE;
  if (!mmapable || TypeId(env) != BPF_MAP_TYPE_ARRAY) return env.Null();
  if (!owner_ && mmaped_) return view_.Value();
  int fd = Fd(env);
  uint32_t maxEntries = owner_ ? bpf_map__max_entries(map_) : info_.max_entries;
  size_t page = sysconf(_SC_PAGESIZE);
  size_t size = (static_cast<size_t>((ValueSz(env) + 7) / 8 * 8) * maxEntries + page - 1) / page * page;
  LogCapture log;
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  bool readOnly = MmapResult(data) == -EPERM;  // frozen: only a read-only mapping is allowed
  if (readOnly) data = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  CheckMmap(env, data, "mmap", log);
  mmapReadOnly_ = readOnly;
  if (owner_) return owner_->TrackMemory(env, data, size, true);
  mmaped_ = data;
  mmapSize_ = size;
  auto* keepAlive = new Napi::ObjectReference(Napi::Persistent(Value()));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, data, size, [](Napi::Env, void*, Napi::ObjectReference* ref) { delete ref; }, keepAlive);
  view_ = Napi::Weak(ab);
  return ab;
}

// Whether the memory() mapping is read-only: a store through it would be SIGSEGV. libbpf
// maps .rodata/.kconfig (BPF_F_RDONLY_PROG) read-only once loaded; a frozen array can
// only be mapped read-only.
Napi::Value MapHandle::MemoryReadOnly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (owner_ && owner_->IsLoaded() && bpf_map__is_internal(map_) && (bpf_map__map_flags(map_) & BPF_F_RDONLY_PROG)) {
    return Napi::Boolean::New(env, true);
  }
  return Napi::Boolean::New(env, mmapReadOnly_);
}

Napi::Value MapHandle::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  if (owner_) {
    Check(env, bpf_map__pin(map_, path.c_str()), "bpf_map__pin", log);
  } else {
    Check(env, bpf_obj_pin(fd, path.c_str()), "bpf_obj_pin", log);
  }
  return env.Undefined();
}

Napi::Value MapHandle::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Fd(env);
  LogCapture log;
  std::string path = info[0].IsString() ? StringArg(info, 0, "path") : std::string();
  if (owner_) {
    Check(env, bpf_map__unpin(map_, path.empty() ? nullptr : path.c_str()), "bpf_map__unpin", log);
  } else {
    if (path.empty()) throw TypeError(env, "path must be a string");
    CheckSys(env, unlink(path.c_str()), "unlink", log);
  }
  return env.Undefined();
}

Napi::Value MapHandle::PinPath(const Napi::CallbackInfo& info) {
  if (!owner_) return info.Env().Null();
  owner_->Get(info.Env());
  const char* path = bpf_map__is_pinned(map_) ? bpf_map__pin_path(map_) : nullptr;  // libbpf keeps it after unpin
  return path ? Napi::String::New(info.Env(), path) : info.Env().Null();
}

// Closes a standalone map's fd (idempotent). An object's map closes with its object.
Napi::Value MapHandle::Close(const Napi::CallbackInfo& info) {
  CloseStandalone(true);
  return info.Env().Undefined();
}

static int MapTypeArg(const Napi::Value& v) { return v.As<Napi::Number>().Int32Value(); }

// create({ type, name, keySize, valueSize, maxEntries, flags, numaNode, mapExtra, innerMap })
Napi::Value MapHandle::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw TypeError(env, "options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  std::string name = o.Get("name").IsString() ? o.Get("name").As<Napi::String>().Utf8Value() : std::string();
  LIBBPF_OPTS(bpf_map_create_opts, opts);
  opts.map_flags = o.Get("flags").IsNumber() ? o.Get("flags").As<Napi::Number>().Uint32Value() : 0;
  opts.map_extra = U64Arg(o.Get("mapExtra"));
  if (o.Get("numaNode").IsNumber()) {
    opts.numa_node = o.Get("numaNode").As<Napi::Number>().Uint32Value();
    opts.map_flags |= BPF_F_NUMA_NODE;
  }
  Napi::Value inner = o.Get("innerMap");
  if (inner.IsObject()) {
    if (!inner.As<Napi::Object>().CheckTypeTag(&kTypeTag)) throw TypeError(env, "innerMap must be a NativeMap");
    opts.inner_map_fd = Unwrap(inner.As<Napi::Object>())->Fd(env);
  }
  LogCapture log;
  int fd = Check(env,
                 bpf_map_create(static_cast<bpf_map_type>(MapTypeArg(o.Get("type"))), name.empty() ? nullptr : name.c_str(),
                                U32Arg(o.Get("keySize")), U32Arg(o.Get("valueSize")), U32Arg(o.Get("maxEntries")), &opts),
                 "bpf_map_create", log);
  return Standalone(env, fd);
}

// fromPinned(path): a map pinned on bpffs, by this or another process.
Napi::Value MapHandle::FromPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  int fd = Check(env, bpf_obj_get(path.c_str()), "bpf_obj_get", log);
  // get_info_by_fd answers for programs and links too; the fd's inode says what it is.
  char target[64] = {};
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  if (readlink(link.c_str(), target, sizeof target - 1) < 0 || std::string(target) != "anon_inode:bpf-map") {
    close(fd);
    throw TypeError(env, "'" + path + "' is pinned, but not a map");
  }
  return Standalone(env, fd);
}

Napi::Value MapHandle::FromId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LogCapture log;
  int fd = Check(env, bpf_map_get_fd_by_id(info[0].As<Napi::Number>().Uint32Value()), "bpf_map_get_fd_by_id", log);
  return Standalone(env, fd);
}

// btfById(id) -> the raw bytes of a BTF object loaded in the kernel (a map's types).
Napi::Value MapHandle::BtfById(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LogCapture log;
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  struct btf* btf = CheckPtr(env, "btf__load_from_kernel_by_id", log, [&] { return btf__load_from_kernel_by_id(id); });
  uint32_t size = 0;
  const void* data = btf__raw_data(btf, &size);
  Napi::Value out = data ? Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), size) : env.Null();
  btf__free(btf);
  return out;
}

}  // namespace nlb
