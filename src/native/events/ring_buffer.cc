#include "events/ring_buffer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/map.h"
#include "core/object.h"

namespace nlb {

const napi_type_tag RingBufferHandle::kTypeTag = {0x6e6c627272696e67ULL, 0x3b8e5d21a9c74f06ULL};

Napi::Function RingBufferHandle::Init(Napi::Env env, Addon* addon) {
  using R = RingBufferHandle;
  std::vector<Napi::PropertyDescriptor> methods = {
      Method<R, &R::Memory>(env, "memory"),       Method<R, &R::Size>(env, "size"),
      Method<R, &R::Read>(env, "read"),           Method<R, &R::Positions>(env, "positions"),
      Method<R, &R::Dropped>(env, "dropped"),
  };
  AddMethods(env, methods);
  Napi::Function ctor = DefineCheckedClass<R>(env, {StaticMethod("open", &R::Open)}, methods);
  addon->ringBufferCtor = Napi::Persistent(ctor);
  return ctor;
}

// Reached with the ring still open only at environment teardown (an open ring holds a
// reference to itself); the cleanup hook has closed the poll handle by then.
RingBufferHandle::~RingBufferHandle() { Release(false); }

void RingBufferHandle::Setup(Napi::Env env, Napi::Object map, int mapFd, const bpf_map_info& info, Napi::Value options) {
  Napi::Value drops = options.IsObject() ? options.As<Napi::Object>().Get("drops") : env.Undefined();
  LogCapture log;
  // Our own fd: libuv watches it by number, so it must not be closed (and reused) under us.
  fd_ = CheckSys(env, fcntl(mapFd, F_DUPFD_CLOEXEC, 0), "fcntl", log);
  size_ = info.max_entries;
  MapRing(env);
  if (drops.IsString()) OpenDrops(env, map, drops.As<Napi::String>().Utf8Value());
  Watch(env, fd_, "node-libbpf:RingBuffer");
}

// The same mappings as libbpf's ring_buffer__add(): the consumer page read-write, then
// the producer page and the data area (twice, back to back) read-only.
void RingBufferHandle::MapRing(Napi::Env env) {
  LogCapture log;
  pageSize_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* consumer = CheckMmap(env, mmap(nullptr, pageSize_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0), "mmap", log);
  consumer_ = static_cast<uint64_t*>(consumer);
  void* producer = CheckMmap(env, mmap(nullptr, pageSize_ + 2 * static_cast<size_t>(size_), PROT_READ, MAP_SHARED, fd_, pageSize_), "mmap", log);
  producer_ = static_cast<uint64_t*>(producer);
  data_ = static_cast<uint8_t*>(producer) + pageSize_;
}

// <ring>_drops, declared by NLB_RINGBUF_DROPS in the same object: a per-CPU u64.
void RingBufferHandle::OpenDrops(Napi::Env env, Napi::Object map, const std::string& name) {
  ObjectHandle* owner = MapHandle::Unwrap(map)->Owner();
  if (!owner) return;
  bpf_map* drops = bpf_object__find_map_by_name(owner->Get(env), name.c_str());
  if (!drops || bpf_map__type(drops) != BPF_MAP_TYPE_PERCPU_ARRAY || bpf_map__value_size(drops) != 8) return;
  if (bpf_map__fd(drops) < 0) return;
  LogCapture log;
  dropsFd_ = CheckSys(env, fcntl(bpf_map__fd(drops), F_DUPFD_CLOEXEC, 0), "fcntl", log);
}

// One call into JS per wake-up. The kernel reports the ring readable while it holds
// data and libuv's epoll is level-triggered: whatever JS leaves for later (a bounded
// batch) brings another wake-up on the next loop iteration.
void RingBufferHandle::Wake(void* arg, int status, bool idle) {
  auto* self = static_cast<RingBufferHandle*>(arg);
  if (!self->closed_) self->CallReadable(status);
}

// Idempotent. `detach`: on the JS thread with JS running, so views over the mappings
// are detached before they are unmapped.
void RingBufferHandle::Release(bool detach) {
  if (!MarkClosed()) return;
  for (auto* view : {&consumerView_, &producerView_, &dataView_}) {
    if (detach && !view->IsEmpty() && !view->Value().IsEmpty()) view->Value().Detach();
    view->Reset();
  }
  if (consumer_) munmap(consumer_, pageSize_);
  if (producer_) munmap(producer_, pageSize_ + 2 * static_cast<size_t>(size_));
  consumer_ = producer_ = nullptr;
  data_ = nullptr;
  for (int* fd : {&fd_, &dropsFd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

// Null when the runtime refuses external ArrayBuffers (a V8 sandbox): read() then.
Napi::Value RingBufferHandle::External(Napi::Env env, void* data, size_t size, Napi::Reference<Napi::ArrayBuffer>& ref) {
  if (!ref.IsEmpty() && !ref.Value().IsEmpty()) return ref.Value();
  napi_value ab;
  napi_status status = napi_create_external_arraybuffer(env, data, size, nullptr, nullptr, &ab);
  if (status == napi_no_external_buffers_allowed) return env.Null();
  NAPI_THROW_IF_FAILED(env, status, Napi::Value());
  ref = Napi::Weak(Napi::ArrayBuffer(env, ab));
  return Napi::Value(env, ab);
}

// memory() -> { consumer, producer, data } | null. `data` is the data area twice over
// (2 * size bytes); `producer` and `data` are read-only memory.
Napi::Value RingBufferHandle::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  Napi::Value consumer = External(env, consumer_, pageSize_, consumerView_);
  if (consumer.IsNull()) return consumer;
  Napi::Object out = Napi::Object::New(env);
  out.Set("consumer", consumer);
  out.Set("producer", External(env, producer_, pageSize_, producerView_));
  out.Set("data", External(env, data_, 2 * static_cast<size_t>(size_), dataView_));
  return out;
}

Napi::Value RingBufferHandle::Size(const Napi::CallbackInfo& info) {
  Require(info.Env());
  return Napi::Number::New(info.Env(), size_);
}

static uint32_t RecordBytes(uint32_t len) {
  len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
  return (len + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
}

// read(buffer, maxRecords) -> bytes: the copying fallback. Copies up to maxRecords
// committed records (headers included, exactly as in the ring) into `buffer` and
// releases them to the producer. Returns -n when the first record alone needs n bytes.
Napi::Value RingBufferHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  Napi::Uint8Array out = BytesArg(info, 0, "buffer");
  uint32_t max = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : UINT32_MAX;
  uint64_t cons = __atomic_load_n(consumer_, __ATOMIC_ACQUIRE);
  uint64_t prod = __atomic_load_n(producer_, __ATOMIC_ACQUIRE);
  uint64_t mask = size_ - 1;
  size_t used = 0;
  for (uint32_t n = 0; n < max && cons + used < prod; n++) {
    uint32_t len = __atomic_load_n(reinterpret_cast<uint32_t*>(data_ + ((cons + used) & mask)), __ATOMIC_ACQUIRE);
    if (len & BPF_RINGBUF_BUSY_BIT) break;
    size_t bytes = RecordBytes(len);
    if (used + bytes > out.ByteLength()) {
      if (used == 0) return Napi::Number::New(env, -static_cast<double>(bytes));
      break;
    }
    used += bytes;
  }
  memcpy(out.Data(), data_ + (cons & mask), used);  // contiguous: the data is mapped twice
  __atomic_store_n(consumer_, cons + used, __ATOMIC_RELEASE);
  return Napi::Number::New(env, static_cast<double>(used));
}

// positions() -> [consumer, producer], exact below 2^53.
Napi::Value RingBufferHandle::Positions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, static_cast<double>(__atomic_load_n(consumer_, __ATOMIC_ACQUIRE))));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(__atomic_load_n(producer_, __ATOMIC_ACQUIRE))));
  return out;
}

// dropped() -> the sum of <ring>_drops over CPUs, or null without such a map.
Napi::Value RingBufferHandle::Dropped(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Require(env);
  if (dropsFd_ < 0) return env.Null();
  static int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> values(cpus > 0 ? cpus : 1);
  uint32_t zero = 0;
  LogCapture log;
  Check(env, bpf_map_lookup_elem(dropsFd_, &zero, values.data()), "bpf_map_lookup_elem", log);
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return Napi::Number::New(env, static_cast<double>(sum));
}

}  // namespace nlb
