// NativeRingBuffer: one BPF_MAP_TYPE_RINGBUF map, mmap()ed the way libbpf's ringbuf.c
// does it, and watched by a uv_poll_t on the event loop of the thread that made it.
// JavaScript walks the ring itself through external ArrayBuffers (consumer page,
// producer page, data area mapped twice so records never wrap); where external buffers
// are refused (a V8 sandbox), read() copies records into a JS buffer instead. Each
// wake-up is one call into JS, never one per record.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "events/event_buffer.h"

namespace nlb {

class Addon;

class RingBufferHandle : public EventBuffer<RingBufferHandle> {
 public:
  static constexpr const char* kClassName = "NativeRingBuffer";
  static constexpr State kClosedState = State::kRingBufferClosed;
  static constexpr bpf_map_type kMapType = BPF_MAP_TYPE_RINGBUF;
  static constexpr const char* kMapTypeName = "ringbuf";
  static constexpr Napi::FunctionReference Addon::*kCtor = &Addon::ringBufferCtor;
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);

  using EventBuffer::EventBuffer;
  ~RingBufferHandle() override;

 private:
  friend class MapBuffer<RingBufferHandle>;
  friend class EventBuffer<RingBufferHandle>;
  static void Wake(void* self, int status, bool idle);

  // options: { drops? }
  void Setup(Napi::Env env, Napi::Object map, int mapFd, const bpf_map_info& info, Napi::Value options);
  void MapRing(Napi::Env env);
  void OpenDrops(Napi::Env env, Napi::Object map, const std::string& name);
  Napi::Value External(Napi::Env env, void* data, size_t size, Napi::Reference<Napi::ArrayBuffer>& ref);
  void Release(bool detach);

  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Positions(const Napi::CallbackInfo& info);
  Napi::Value Dropped(const Napi::CallbackInfo& info);

  int fd_ = -1;       // our dup of the map's fd: polled, and keeps the map alive
  int dropsFd_ = -1;  // <ring>_drops (per-CPU u64), when the object has one
  size_t pageSize_ = 0;
  uint32_t size_ = 0;  // max_entries: a power of two
  uint64_t* consumer_ = nullptr;  // writable page
  uint64_t* producer_ = nullptr;  // read-only page, then the data area twice
  uint8_t* data_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> consumerView_, producerView_, dataView_;
};

}  // namespace nlb
