// NativeUserRingBuffer: one BPF_MAP_TYPE_USER_RINGBUF map (user space produces, BPF
// programs drain with bpf_user_ringbuf_drain), through libbpf's user_ring_buffer.
// Reserved samples are numbered slots; submit(slot, bytes) copies the bytes JS wrote
// into the reservation and hands it to the kernel. Nothing here blocks: waiting for room
// is TypeScript's (UserRingBuffer.reserveBlocking retries on the event loop).
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "events/event_buffer.h"

struct user_ring_buffer;

namespace nlb {

class Addon;

class UserRingBufferHandle : public MapBuffer<UserRingBufferHandle> {
 public:
  static constexpr const char* kClassName = "NativeUserRingBuffer";
  static constexpr State kClosedState = State::kUserRingBufferClosed;
  static constexpr bpf_map_type kMapType = BPF_MAP_TYPE_USER_RINGBUF;
  static constexpr const char* kMapTypeName = "user_ringbuf";
  static constexpr Napi::FunctionReference Addon::*kCtor = &Addon::userRingBufferCtor;
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);

  using MapBuffer::MapBuffer;
  ~UserRingBufferHandle() override;

 private:
  friend class MapBuffer<UserRingBufferHandle>;

  void Setup(Napi::Env env, Napi::Object map, int mapFd, const bpf_map_info& info, Napi::Value options);
  void Release(bool detach);
  struct Slot {
    void* sample = nullptr;
    uint32_t size = 0;
  };
  Slot& SlotArg(const Napi::CallbackInfo& info);

  Napi::Value Reserve(const Napi::CallbackInfo& info);
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value Discard(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);

  user_ring_buffer* rb_ = nullptr;
  uint32_t size_ = 0;
  std::vector<Slot> slots_;  // reservations not submitted or discarded yet
};

}  // namespace nlb
