#include "events/user_ring_buffer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstring>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/map.h"

namespace nlb {

const napi_type_tag UserRingBufferHandle::kTypeTag = {0x6e6c627573727262ULL, 0x2c7e90b4d61f385aULL};

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

// A leak backstop: GC of an unclosed ring discards its reservations and unmaps it.
UserRingBufferHandle::~UserRingBufferHandle() { Release(false); }

// open(map)
void UserRingBufferHandle::Setup(Napi::Env env, Napi::Object, int mapFd, const bpf_map_info& info, Napi::Value) {
  LogCapture log;
  rb_ = CheckPtr(env, "user_ring_buffer__new", log, [&] { return user_ring_buffer__new(mapFd, nullptr); });
  size_ = info.max_entries;
}

// Idempotent. Open reservations are discarded first, so the BPF side is not left
// waiting behind a record that will never be submitted.
void UserRingBufferHandle::Release(bool) {
  if (!MarkClosed()) return;
  for (Slot& slot : slots_) {
    if (slot.sample) user_ring_buffer__discard(rb_, slot.sample);
  }
  slots_.clear();
  if (rb_) user_ring_buffer__free(rb_);
  rb_ = nullptr;
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
  void* sample = CheckPtr(env, "user_ring_buffer__reserve", log, [&] { return user_ring_buffer__reserve(rb_, size); });
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

}  // namespace nlb
