#include "user_ring_buffer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "addon.h"
#include "errors.h"
#include "map.h"
#include "wrap.h"

namespace nlb {

const napi_type_tag UserRingBufferHandle::kTypeTag = {0x6e6c627573727262ULL, 0x2c7e90b4d61f385aULL};
static const char* const kUserRingClosed = "UserRingBuffer is closed";

Napi::Function UserRingBufferHandle::Init(Napi::Env env, Addon* addon) {
  using U = UserRingBufferHandle;
  Napi::Function ctor = DefineCheckedClass<U>(env, {StaticMethod("open", &U::Open)},
                                              {
                                                  Method<U, &U::Reserve>(env, "reserve"),
                                                  Method<U, &U::Submit>(env, "submit"),
                                                  Method<U, &U::Discard>(env, "discard"),
                                                  Method<U, &U::Size>(env, "size"),
                                                  Method<U, &U::Close>(env, "close"),
                                              });
  addon->userRingBufferCtor = Napi::Persistent(ctor);
  return ctor;
}

UserRingBufferHandle::UserRingBufferHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UserRingBufferHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
}

// A leak backstop: GC of an unclosed ring discards its reservations and unmaps it.
UserRingBufferHandle::~UserRingBufferHandle() { Release(); }

// open(map)
Napi::Value UserRingBufferHandle::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&MapHandle::kTypeTag)) {
    throw TypeError(env, "map must be a NativeMap");
  }
  Napi::Object map = info[0].As<Napi::Object>();
  int fd = MapHandle::Unwrap(map)->Fd(env);
  LogCapture log;
  bpf_map_info mapInfo = {};
  uint32_t len = sizeof mapInfo;
  Check(env, bpf_map_get_info_by_fd(fd, &mapInfo, &len), "bpf_map_get_info_by_fd", log);
  if (mapInfo.type != BPF_MAP_TYPE_USER_RINGBUF) throw TypeError(env, "map is not a user_ringbuf map");
  user_ring_buffer* rb = CheckPtr(env, user_ring_buffer__new(fd, nullptr), "user_ring_buffer__new", log);
  Napi::Object js;
  {
    ConstructToken token;
    js = Addon::Of(env)->userRingBufferCtor.New({});
  }
  UserRingBufferHandle* self = Unwrap(js);
  self->rb_ = rb;
  self->size_ = mapInfo.max_entries;
  self->mapRef_ = Napi::Persistent(map);
  return js;
}

void UserRingBufferHandle::Require(Napi::Env env) const {
  if (closed_) ThrowState(env, kUserRingClosed);
}

// Idempotent. Open reservations are discarded first, so the BPF side is not left
// waiting behind a record that will never be submitted.
void UserRingBufferHandle::Release() {
  if (closed_) return;
  closed_ = true;
  for (Slot& slot : slots_) {
    if (slot.sample) user_ring_buffer__discard(rb_, slot.sample);
  }
  slots_.clear();
  if (rb_) user_ring_buffer__free(rb_);
  rb_ = nullptr;
  mapRef_.Reset();
}

UserRingBufferHandle::Slot& UserRingBufferHandle::SlotArg(const Napi::CallbackInfo& info) {
  Require(info.Env());
  uint32_t i = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : UINT32_MAX;
  if (i >= slots_.size() || !slots_[i].sample) throw TypeError(info.Env(), "no such reservation");
  return slots_[i];
}

// reserve(size) -> slot. ENOSPC: no room now; E2BIG: larger than the ring.
Napi::Value UserRingBufferHandle::Reserve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  uint32_t size = info[0].As<Napi::Number>().Uint32Value();
  LogCapture log;
  errno = 0;
  void* sample = CheckPtr(env, user_ring_buffer__reserve(rb_, size), "user_ring_buffer__reserve", log);
  size_t i = 0;
  while (i < slots_.size() && slots_[i].sample) i++;
  if (i == slots_.size()) slots_.emplace_back();
  slots_[i] = {sample, size};
  return Napi::Number::New(env, static_cast<double>(i));
}

// submit(slot, bytes): the bytes (at most the reserved size; the rest stays zero) into
// the reservation, then to the kernel.
Napi::Value UserRingBufferHandle::Submit(const Napi::CallbackInfo& info) {
  Slot& slot = SlotArg(info);
  Napi::Uint8Array bytes = BytesArg(info, 1, "bytes");
  size_t n = bytes.ByteLength() < slot.size ? bytes.ByteLength() : slot.size;
  memset(slot.sample, 0, slot.size);
  memcpy(slot.sample, bytes.Data(), n);
  user_ring_buffer__submit(rb_, slot.sample);
  slot = {};
  return info.Env().Undefined();
}

Napi::Value UserRingBufferHandle::Discard(const Napi::CallbackInfo& info) {
  Slot& slot = SlotArg(info);
  user_ring_buffer__discard(rb_, slot.sample);
  slot = {};
  return info.Env().Undefined();
}

Napi::Value UserRingBufferHandle::Size(const Napi::CallbackInfo& info) {
  Require(info.Env());
  return Napi::Number::New(info.Env(), size_);
}

Napi::Value UserRingBufferHandle::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace nlb
