#include "events/perf_buffer.h"

#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstring>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/map.h"

namespace nlb {

const napi_type_tag PerfBufferHandle::kTypeTag = {0x6e6c627065726662ULL, 0x91d4c3a2e85b7f13ULL};

// The index JS reads: a header (first untaken entry, entry count), then per entry the
// CPU, the sample's offset in the byte arena and its length. A lost-samples notice has
// kLost set in the CPU word and the count (high, low) in the other two.
static constexpr size_t kHeaderWords = 4;
static constexpr size_t kEntryWords = 3;
static constexpr uint32_t kLost = 0x80000000u;
static constexpr size_t kInitialBytes = 64 * 1024;
static constexpr size_t kInitialEntries = 1024;

Napi::Function PerfBufferHandle::Init(Napi::Env env, Addon* addon) {
  using P = PerfBufferHandle;
  std::vector<Napi::PropertyDescriptor> methods = {
      Method<P, &P::Stage>(env, "stage"),
      Method<P, &P::Advance>(env, "advance"),
      Method<P, &P::Arena>(env, "arena"),
      Method<P, &P::BufferCount>(env, "bufferCount"),
  };
  AddMethods(env, methods);
  Napi::Function ctor = DefineCheckedClass<P>(env, {StaticMethod("open", &P::Open)}, methods);
  addon->perfBufferCtor = Napi::Persistent(ctor);
  return ctor;
}

// Reached with the buffer still open only at environment teardown (an open buffer holds
// a reference to itself); the cleanup hook has closed the libuv handles by then.
PerfBufferHandle::~PerfBufferHandle() { Release(false); }

void PerfBufferHandle::Setup(Napi::Env env, Napi::Object map, int mapFd, const bpf_map_info& info, Napi::Value options) {
  Napi::Value pages = options.IsObject() ? options.As<Napi::Object>().Get("pageCount") : env.Undefined();
  uint32_t pageCount = pages.IsNumber() ? pages.As<Napi::Number>().Uint32Value() : 64;
  if (pageCount == 0 || (pageCount & (pageCount - 1)) != 0) throw RangeError(env, "pageCount must be a power of two");
  stagingEnv_ = env;
  if (!Grow(kInitialBytes, kInitialEntries)) NAPI_THROW_VOID(Napi::Error::New(env, "cannot allocate the perf buffer's arena"));
  grown_ = false;
  LogCapture log;
  // Our own fd of the map: perf_buffer__free() clears the map's entries through it, and
  // the object's fd may be gone by then (BpfObject.upgrade moves the buffer).
  mapFd_ = CheckSys(env, fcntl(mapFd, F_DUPFD_CLOEXEC, 0), "fcntl", log);
  pb_ = CheckPtr(env, "perf_buffer__new", log, [&] { return perf_buffer__new(mapFd_, pageCount, OnSample, OnLost, this, nullptr); });
  buffers_ = perf_buffer__buffer_cnt(pb_);
  Watch(env, perf_buffer__epoll_fd(pb_), "node-libbpf:PerfBuffer");
  Rearm();
}

bool PerfBufferHandle::Pending() const { return first_ < count_ || unvisited_ || looks_ > 0; }

// A perf fd reports each wake-up once, to whoever polls it first. When libuv (re)adds the
// epoll fd, in the poll phase of the next loop turn, its first look eats a wake-up that
// came before. So after polling starts, look at the buffers on two idle turns, the
// second one after that poll phase, whatever epoll says.
void PerfBufferHandle::Rearm() {
  looks_ = 2;
  if (!events_.Dispatching()) events_.SetIdle(true);  // else Wake() arms it when the callback returned
}

// One call into JS per wake-up; it takes one bounded batch through stage()/advance().
// Whatever is left (staged, or in buffers not visited) brings another call on the next
// loop turn (the idle handle): the perf fds only report new wake-ups, not data left behind.
void PerfBufferHandle::Wake(void* arg, int status, bool idle) {
  auto* self = static_cast<PerfBufferHandle*>(arg);
  if (self->closed_) return;
  // A wake-up from the fd is spent now (a perf fd reports it once): if JS only takes
  // what is staged already, the new data must still be looked at afterwards. While the
  // idle handle is on, it takes the next batch on this loop turn already: one batch a turn.
  if (!idle) {
    self->unvisited_ = true;
    if (self->events_.Idling()) return;
  } else if (self->looks_ > 0) {
    self->looks_--;
    self->unvisited_ = true;
  }
  self->CallReadable(status);
  if (!self->closed_) self->events_.SetIdle(self->events_.Polling() && self->Pending());
}

// Idempotent. The poll handle is closed (so libuv forgets the epoll fd) before
// perf_buffer__free closes it.
void PerfBufferHandle::Release(bool) {
  if (!MarkClosed()) return;
  if (pb_) perf_buffer__free(pb_);
  pb_ = nullptr;
  if (mapFd_ >= 0) close(mapFd_);
  mapFd_ = -1;
  bytesRef_.Reset();
  entriesRef_.Reset();
  bytes_ = nullptr;
  entries_ = nullptr;
}

// Runs inside libbpf (C code): nothing here may throw. New arena buffers are made with
// the C API; on failure the sample is counted as lost on our side instead.
bool PerfBufferHandle::Grow(size_t bytes, size_t entries) {
  napi_env env = stagingEnv_;
  if (bytes > bytesCap_) {
    size_t cap = bytesCap_ ? bytesCap_ : kInitialBytes;
    while (cap < bytes) cap *= 2;
    void* data = nullptr;
    napi_value ab;
    if (napi_create_arraybuffer(env, cap, &data, &ab) != napi_ok) return false;
    if (bytesUsed_) memcpy(data, bytes_, bytesUsed_);
    napi_ref ref;
    if (napi_create_reference(env, ab, 1, &ref) != napi_ok) return false;
    bytesRef_ = Napi::Reference<Napi::ArrayBuffer>(env, ref);
    bytes_ = static_cast<uint8_t*>(data);
    bytesCap_ = cap;
    grown_ = true;
  }
  if (entries > entriesCap_) {
    size_t cap = entriesCap_ ? entriesCap_ : kInitialEntries;
    while (cap < entries) cap *= 2;
    void* data = nullptr;
    napi_value ab;
    if (napi_create_arraybuffer(env, (kHeaderWords + cap * kEntryWords) * sizeof(uint32_t), &data, &ab) != napi_ok) return false;
    if (entries_) memcpy(data, entries_, (kHeaderWords + count_ * kEntryWords) * sizeof(uint32_t));
    napi_ref ref;
    if (napi_create_reference(env, ab, 1, &ref) != napi_ok) return false;
    entriesRef_ = Napi::Reference<Napi::ArrayBuffer>(env, ref);
    entries_ = static_cast<uint32_t*>(data);
    entriesCap_ = cap;
    grown_ = true;
  }
  return true;
}

uint32_t* PerfBufferHandle::Entry() {
  if (count_ >= entriesCap_ && !Grow(bytesUsed_, count_ + 1)) return nullptr;
  return entries_ + kHeaderWords + static_cast<size_t>(count_++) * kEntryWords;
}

void PerfBufferHandle::OnSample(void* ctx, int cpu, void* data, __u32 size) {
  auto* self = static_cast<PerfBufferHandle*>(ctx);
  size_t at = (self->bytesUsed_ + 7) & ~static_cast<size_t>(7);
  if (at + size > self->bytesCap_ && !self->Grow(at + size, self->count_ + 1)) {
    self->ownLost_++;
    self->failed_ = true;
    return;
  }
  uint32_t* e = self->Entry();
  if (!e) {
    self->ownLost_++;
    self->failed_ = true;
    return;
  }
  memcpy(self->bytes_ + at, data, size);
  self->bytesUsed_ = at + size;
  e[0] = static_cast<uint32_t>(cpu);
  e[1] = static_cast<uint32_t>(at);
  e[2] = size;
}

void PerfBufferHandle::OnLost(void* ctx, int cpu, __u64 count) {
  auto* self = static_cast<PerfBufferHandle*>(ctx);
  uint32_t* e = self->Entry();
  if (!e) {
    self->failed_ = true;
    return;
  }
  e[0] = static_cast<uint32_t>(cpu) | kLost;
  e[1] = static_cast<uint32_t>(count >> 32);
  e[2] = static_cast<uint32_t>(count);
}

// stage(max) -> n: entries staged and not taken yet, from header[0]. With none left,
// consumes per-CPU buffers, round robin, until at least `max` entries are staged (a
// buffer is consumed whole: the batch may overshoot by one buffer's content). -n-1: the
// arena moved, call arena() for new views.
Napi::Value PerfBufferHandle::Stage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  uint32_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : UINT32_MAX;
  if (first_ >= count_) {
    first_ = count_ = 0;
    bytesUsed_ = 0;
    stagingEnv_ = env;
    size_t visited = 0;
    while (visited < buffers_ && count_ < max) {
      size_t idx = next_;
      next_ = (next_ + 1) % buffers_;
      visited++;
      perf_buffer__consume_buffer(pb_, idx);  // -ENOENT: no buffer for that CPU (offline)
    }
    unvisited_ = visited < buffers_;
    entries_[0] = first_;
    entries_[1] = count_;
  }
  double n = count_ - first_;
  if (grown_) {
    grown_ = false;
    return Napi::Number::New(env, -n - 1);
  }
  return Napi::Number::New(env, n);
}

// advance(k): JS took k entries.
Napi::Value PerfBufferHandle::Advance(const Napi::CallbackInfo& info) {
  Require(info.Env());
  uint32_t k = info[0].As<Napi::Number>().Uint32Value();
  first_ = k > count_ - first_ ? count_ : first_ + k;
  entries_[0] = first_;
  return info.Env().Undefined();
}

// arena() -> { bytes, entries, ownLost }: the staging buffers (ordinary ArrayBuffers,
// so no V8 sandbox refuses them) and samples lost because they could not grow.
Napi::Value PerfBufferHandle::Arena(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  Napi::Object out = Napi::Object::New(env);
  out.Set("bytes", bytesRef_.Value());
  out.Set("entries", entriesRef_.Value());
  out.Set("ownLost", Napi::Number::New(env, static_cast<double>(ownLost_)));
  return out;
}

Napi::Value PerfBufferHandle::BufferCount(const Napi::CallbackInfo& info) {
  Require(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(buffers_));
}

// After poll(on): look at the buffers (see Rearm()): samples written while paused
// brought no wake-up anyone will see.
void PerfBufferHandle::PollSwitched(Napi::Env, bool on) {
  if (on) {
    Rearm();
  } else if (!events_.Dispatching()) {
    events_.SetIdle(false);  // else Wake() decides when the callback returned
  }
}

}  // namespace nlb
