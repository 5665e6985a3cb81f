// NativePerfBuffer: one BPF_MAP_TYPE_PERF_EVENT_ARRAY read through libbpf's perf_buffer
// (one perf ring per CPU), whose epoll fd a uv_poll_t watches on the event loop of the
// thread that made it. A wake-up is one call into JS. JS then asks stage(max): the addon
// consumes per-CPU buffers (perf_buffer__consume_buffer, round robin) until `max`
// samples are staged, copying each sample into one arena (bytes) with an index (cpu,
// offset, length; lost-sample notices in the same stream), which JS walks. What JS did
// not take, or buffers not visited, wait for the next loop turn (a uv_idle_t), so the
// loop is never held for more than a batch.
#pragma once
#include <napi.h>

#include <linux/types.h>

#include <cstdint>

#include "events/event_buffer.h"

struct perf_buffer;

namespace nlb {

class Addon;

class PerfBufferHandle : public EventBuffer<PerfBufferHandle> {
 public:
  static constexpr const char* kClassName = "NativePerfBuffer";
  static constexpr State kClosedState = State::kPerfBufferClosed;
  static constexpr bpf_map_type kMapType = BPF_MAP_TYPE_PERF_EVENT_ARRAY;
  static constexpr const char* kMapTypeName = "perf_event_array";
  static constexpr Napi::FunctionReference Addon::*kCtor = &Addon::perfBufferCtor;
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);

  using EventBuffer::EventBuffer;
  ~PerfBufferHandle() override;

 private:
  friend class MapBuffer<PerfBufferHandle>;
  friend class EventBuffer<PerfBufferHandle>;
  static void Wake(void* self, int status, bool idle);
  static void OnSample(void* ctx, int cpu, void* data, __u32 size);
  static void OnLost(void* ctx, int cpu, __u64 count);

  // options: { pageCount } (a power of two; default 64)
  void Setup(Napi::Env env, Napi::Object map, int mapFd, const bpf_map_info& info, Napi::Value options);
  void PollSwitched(Napi::Env env, bool on);
  bool Pending() const;
  void Rearm();
  uint32_t* Entry();
  bool Grow(size_t bytes, size_t entries);
  void Release(bool detach);

  Napi::Value Stage(const Napi::CallbackInfo& info);
  Napi::Value Advance(const Napi::CallbackInfo& info);
  Napi::Value Arena(const Napi::CallbackInfo& info);
  Napi::Value BufferCount(const Napi::CallbackInfo& info);

  perf_buffer* pb_ = nullptr;
  int mapFd_ = -1;  // our dup of the map fd (see Setup)
  size_t buffers_ = 0;
  size_t next_ = 0;       // the buffer the next stage() starts with (round robin)
  bool unvisited_ = false;  // buffers may hold what is not staged: stage() stopped at `max`, or a wake-up came meanwhile
  // The arena: sample bytes (8-aligned) and entries of kEntryWords u32 each.
  Napi::Reference<Napi::ArrayBuffer> bytesRef_, entriesRef_;
  uint8_t* bytes_ = nullptr;
  size_t bytesCap_ = 0, bytesUsed_ = 0;
  uint32_t* entries_ = nullptr;
  size_t entriesCap_ = 0;
  int looks_ = 0;           // idle turns that look at the buffers whatever epoll says (Rearm)
  uint32_t count_ = 0, first_ = 0;  // staged entries; the first JS has not taken
  bool grown_ = false;      // the arena moved: JS must take new views
  bool failed_ = false;     // the arena could not grow: samples were lost on our side
  uint64_t ownLost_ = 0;
  Napi::Env stagingEnv_ = nullptr;
};

}  // namespace nlb
