#include "events/event_poll.h"

#include "base/errors.h"
#include "base/log.h"

namespace nlb {

void EventPoll::Start(Napi::Env env, int fd, const char* resource, Napi::Object owner, WakeFn wake, void* self) {
  LogCapture log;
  uv_loop_t* loop = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_get_uv_event_loop(env, &loop));
  env_ = env;
  wake_ = wake;
  self_ = self;
  poll_ = new uv_poll_t;
  int err = uv_poll_init(loop, poll_, fd);
  if (err) {
    delete poll_;
    poll_ = nullptr;
    Check(env, err, "uv_poll_init", log);
  }
  poll_->data = this;
  idle_ = new uv_idle_t;
  uv_idle_init(loop, idle_);
  idle_->data = this;
  NAPI_THROW_IF_FAILED_VOID(env, napi_add_env_cleanup_hook(env, OnTeardown, this));
  hooked_ = true;
  async_ = std::make_unique<Napi::AsyncContext>(env, resource, owner);
  SetPolling(env, true);
}

void EventPoll::SetPolling(Napi::Env env, bool on) {
  if (on == polling_ || !poll_) return;
  int err = on ? uv_poll_start(poll_, UV_READABLE, OnPoll) : uv_poll_stop(poll_);
  LogCapture log;
  Check(env, err, on ? "uv_poll_start" : "uv_poll_stop", log);
  polling_ = on;
}

void EventPoll::SetIdle(bool on) {
  if (!idle_ || on == idling_) return;
  if (on) {
    uv_idle_start(idle_, OnIdle);
  } else {
    uv_idle_stop(idle_);
  }
  idling_ = on;
}

void EventPoll::SetRef(bool on) {
  for (auto* h : {reinterpret_cast<uv_handle_t*>(poll_), reinterpret_cast<uv_handle_t*>(idle_)}) {
    if (!h) continue;
    if (on) {
      uv_ref(h);
    } else {
      uv_unref(h);
    }
  }
}

void EventPoll::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<EventPoll*>(handle->data);
  if (self) self->wake_(self->self_, status, false);
}

void EventPoll::OnIdle(uv_idle_t* handle) {
  auto* self = static_cast<EventPoll*>(handle->data);
  if (self) self->wake_(self->self_, 0, true);
}

void EventPoll::Call(Napi::Env env, Napi::FunctionReference& fn, Napi::Object recv, int status) {
  Napi::HandleScope scope(env);
  dispatching_ = true;
  try {
    Napi::Value arg = status < 0 ? MakeBpfError(env, -status, "uv_poll", {}).Value() : env.Undefined();
    fn.MakeCallback(recv, {arg}, *async_);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());  // an uncaught exception, as from any I/O callback
  }
  dispatching_ = false;
  if (stopped_) async_.reset();  // stopped by the callback: kept until it returned
}

// Worker exit or process teardown with the buffer still open: libuv handles must be
// closed (not freed while active) before the loop goes.
void EventPoll::OnTeardown(void* arg) {
  auto* self = static_cast<EventPoll*>(arg);
  self->hooked_ = false;
  self->CloseHandles();
  self->async_.reset();
}

void EventPoll::CloseHandles() {
  if (poll_) {
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (idle_) {
    idle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(idle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
    idle_ = nullptr;
  }
  polling_ = idling_ = false;
}

void EventPoll::Stop() {
  if (stopped_) return;
  stopped_ = true;
  CloseHandles();
  if (hooked_) napi_remove_env_cleanup_hook(env_, OnTeardown, this);
  hooked_ = false;
  if (!dispatching_) async_.reset();
}

}  // namespace nlb
