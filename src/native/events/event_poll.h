// EventPoll: what every event buffer (RingBuffer, PerfBuffer) needs from the event loop of
// the thread that made it: a uv_poll_t on the buffer's fd (no thread while idle), an
// optional uv_idle_t to come back on the next loop turn for the rest of a bounded batch,
// ref/unref, the call into JS with its async context, and teardown when the
// environment goes (worker exit) with the buffer still open. Not an ObjectWrap: each
// buffer class owns one.
#pragma once
#include <napi.h>
#include <uv.h>

#include <memory>

namespace nlb {

class EventPoll {
 public:
  // Runs on the loop for each wake-up: `status` < 0 is a libuv error; `idle`: the
  // idle handle's turn rather than the fd's.
  using WakeFn = void (*)(void* owner, int status, bool idle);

  EventPoll() = default;
  EventPoll(const EventPoll&) = delete;
  EventPoll& operator=(const EventPoll&) = delete;
  ~EventPoll() { Stop(); }

  // Starts watching `fd` (readable). `resource` names the async resource ("node-libbpf:RingBuffer").
  void Start(Napi::Env env, int fd, const char* resource, Napi::Object owner, WakeFn wake, void* self);
  void SetPolling(Napi::Env env, bool on);
  bool Polling() const { return polling_; }
  // Wake once per loop turn (without waiting for the fd) while on.
  void SetIdle(bool on);
  bool Idling() const { return idling_; }
  void SetRef(bool on);
  bool Dispatching() const { return dispatching_; }
  // fn(error?) with `recv` as this, in the async context; a throw is an uncaught exception.
  void Call(Napi::Env env, Napi::FunctionReference& fn, Napi::Object recv, int status);
  // Idempotent: closes the handles (libuv forgets the fd first); the async context stays
  // until a running Call() returned.
  void Stop();

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnIdle(uv_idle_t* handle);
  static void OnTeardown(void* self);
  void CloseHandles();

  napi_env env_ = nullptr;
  uv_poll_t* poll_ = nullptr;  // freed by uv_close's callback
  uv_idle_t* idle_ = nullptr;
  bool polling_ = false;
  bool idling_ = false;
  bool hooked_ = false;
  bool dispatching_ = false;
  bool stopped_ = false;
  WakeFn wake_ = nullptr;
  void* self_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> async_;
};

}  // namespace nlb
