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

#include "event_poll.h"

namespace nlb {

class Addon;

class RingBufferHandle : public Napi::ObjectWrap<RingBufferHandle> {
 public:
  static constexpr const char* kClassName = "NativeRingBuffer";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);

  explicit RingBufferHandle(const Napi::CallbackInfo& info);
  ~RingBufferHandle() override;

 private:
  static Napi::Value Open(const Napi::CallbackInfo& info);
  static void Wake(void* self, int status, bool idle);

  void Setup(Napi::Env env, Napi::Object map, const std::string& drops);
  void MapRing(Napi::Env env);
  void OpenDrops(Napi::Env env, Napi::Object map, const std::string& name);
  Napi::Value External(Napi::Env env, void* data, size_t size, Napi::Reference<Napi::ArrayBuffer>& ref);
  void Require(Napi::Env env) const;
  void Release(bool detach);

  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Positions(const Napi::CallbackInfo& info);
  Napi::Value Dropped(const Napi::CallbackInfo& info);
  Napi::Value Poll(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  int fd_ = -1;       // our dup of the map's fd: polled, and keeps the map alive
  int dropsFd_ = -1;  // <ring>_drops (per-CPU u64), when the object has one
  size_t pageSize_ = 0;
  uint32_t size_ = 0;  // max_entries: a power of two
  uint64_t* consumer_ = nullptr;  // writable page
  uint64_t* producer_ = nullptr;  // read-only page, then the data area twice
  uint8_t* data_ = nullptr;
  bool closed_ = false;
  EventPoll events_;
  Napi::ObjectReference mapRef_;  // the NativeMap: keeps its object alive
  Napi::FunctionReference onReadable_;
  Napi::Reference<Napi::ArrayBuffer> consumerView_, producerView_, dataView_;
};

}  // namespace nlb
