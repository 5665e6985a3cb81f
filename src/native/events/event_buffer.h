// What the buffer classes over one map (RingBuffer, PerfBuffer, UserRingBuffer) share,
// so each file holds only what is its own:
//   MapBuffer<T>:   private construction with T's type tag, open(map, ...) with the map's
//                   kernel type checked, the closed state and its one message, close(),
//                   and its place among its object's children (closed first, then told).
//   EventBuffer<T>: the event-loop side of RingBuffer and PerfBuffer: onReadable, the
//                   EventPoll, poll(on), ref(on), and the reference an open buffer holds
//                   on itself (an active handle, like a socket, until close()).
// T supplies kClassName, kTypeTag, kClosedState, kMapType, kMapTypeName, kCtor (its
// constructor's slot in Addon), Setup(env, map, mapInfo, options) and Release(detach).
#pragma once
#include <bpf/bpf.h>
#include <napi.h>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/map.h"
#include "core/object.h"
#include "events/event_poll.h"

namespace nlb {

template <class T>
class MapBuffer : public Napi::ObjectWrap<T>, public ObjectChild {
 public:
  explicit MapBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {
    ConstructToken::Require(info.Env(), T::kClassName);
    info.This().As<Napi::Object>().TypeTag(&T::kTypeTag);
  }

  // The map's object closes: release everything now; its notice (`onClosed`, so the
  // TypeScript side marks itself closed) is for the object to call when it is done.
  Napi::FunctionReference CloseByOwner(bool finalizing) override {
    Napi::FunctionReference onClosed = std::move(onClosed_);
    Closing(finalizing);
    return onClosed;
  }
  uint32_t ChildMapId() const override { return mapId_; }
  void SetChildOwner(ObjectHandle* owner) override { owner_ = owner; }

 protected:
  // open(map, ..., options): a new T over the NativeMap `info[0]`; `prepare(self)` runs
  // before Setup (EventBuffer keeps the callback). A throw releases what Setup took.
  // options.onClosed: called when the map's object closed this buffer.
  template <class Prepare>
  static Napi::Value OpenWith(const Napi::CallbackInfo& info, size_t optionsArg, Prepare prepare) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&MapHandle::kTypeTag)) {
      throw TypeError(env, "map must be a NativeMap");
    }
    Napi::Object map = info[0].As<Napi::Object>();
    Napi::Value options = info[optionsArg];
    Napi::Object js;
    {
      ConstructToken token;
      js = (Addon::Of(env)->*T::kCtor).New({});
    }
    T* self = T::Unwrap(js);
    try {
      prepare(self);
      self->mapRef_ = Napi::Persistent(map);
      MapHandle* mapHandle = MapHandle::Unwrap(map);
      int fd = mapHandle->Fd(env);
      LogCapture log;
      bpf_map_info mapInfo = {};
      uint32_t len = sizeof mapInfo;
      Check(env, bpf_map_get_info_by_fd(fd, &mapInfo, &len), "bpf_map_get_info_by_fd", log);
      if (mapInfo.type != T::kMapType) throw TypeError(env, std::string("map is not a ") + T::kMapTypeName + " map");
      self->mapId_ = mapInfo.id;
      self->Setup(env, map, fd, mapInfo, options);
      Napi::Value onClosed = options.IsObject() ? options.As<Napi::Object>().Get("onClosed") : env.Undefined();
      if (onClosed.IsFunction()) self->onClosed_ = Napi::Persistent(onClosed.As<Napi::Function>());
      self->owner_ = mapHandle->Owner();
      if (self->owner_) self->owner_->AddChild(self);
    } catch (...) {
      self->Release(false);
      throw;
    }
    return js;
  }

  static Napi::Value Open(const Napi::CallbackInfo& info) {
    return OpenWith(info, 1, [](T*) {});
  }

  void Require(Napi::Env env) const {
    if (closed_) ThrowState(env, T::kClosedState);
  }

  // Idempotent: true the first time (the caller releases what it holds).
  bool MarkClosed() {
    if (closed_) return false;
    closed_ = true;
    if (owner_) owner_->RemoveChild(this);
    owner_ = nullptr;
    mapRef_.Reset();
    return true;
  }

  // close(), or the object's close (`finalizing`: from a GC finalizer, no JS).
  virtual void Closing(bool finalizing) { static_cast<T*>(this)->Release(!finalizing); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    onClosed_.Reset();  // closed by its own hand: nobody to tell
    Closing(false);
    return info.Env().Undefined();
  }

  bool closed_ = false;
  Napi::ObjectReference mapRef_;  // the NativeMap: keeps its fd (and object) alive
  ObjectHandle* owner_ = nullptr;  // the map's object, which closes this buffer first
  uint32_t mapId_ = 0;             // the kernel id of that map (an upgrade moves the buffer)
  Napi::FunctionReference onClosed_;
};

template <class T>
class EventBuffer : public MapBuffer<T> {
 public:
  using MapBuffer<T>::MapBuffer;

 protected:
  // The methods every event buffer has, after T's own.
  static void AddMethods(Napi::Env env, std::vector<Napi::PropertyDescriptor>& methods) {
    methods.push_back(Method<T, &EventBuffer::Poll>(env, "poll"));
    methods.push_back(Method<T, &EventBuffer::SetRef>(env, "ref"));
    methods.push_back(Method<T, &EventBuffer::Close>(env, "close"));
  }

  // open(map, onReadable, options): polling starts at once; onReadable(error?) runs on
  // this thread's event loop whenever the buffer has data.
  static Napi::Value Open(const Napi::CallbackInfo& info) {
    return MapBuffer<T>::OpenWith(info, 2, [&](T* self) {
      if (!info[1].IsFunction()) throw TypeError(info.Env(), "onReadable must be a function");
      self->onReadable_ = Napi::Persistent(info[1].As<Napi::Function>());
    });
  }

  // The last step of Setup: watch `fd` and hold the buffer open.
  void Watch(Napi::Env env, int fd, const char* resource) {
    events_.Start(env, fd, resource, this->Value(), T::Wake, static_cast<T*>(this));
    this->Ref();
    held_ = true;
  }

  // Idempotent: true the first time; the event-loop side is gone when it returns.
  bool MarkClosed() {
    if (!MapBuffer<T>::MarkClosed()) return false;
    events_.Stop();
    onReadable_.Reset();
    return true;
  }

  void Closing(bool finalizing) override {
    MapBuffer<T>::Closing(finalizing);
    if (held_ && !finalizing) this->Unref();
    held_ = false;
  }

  // One call into JS (onReadable), in the buffer's async context.
  void CallReadable(int status) {
    Napi::HandleScope scope(this->Env());
    events_.Call(this->Env(), onReadable_, this->Value(), status);
  }

  // Hook for T: polling was switched (PerfBuffer looks at its buffers again).
  void PollSwitched(Napi::Env, bool) {}

  // poll(on): stop watching (backpressure) or watch again.
  Napi::Value Poll(const Napi::CallbackInfo& info) {
    this->Require(info.Env());
    bool on = info[0].ToBoolean();
    events_.SetPolling(info.Env(), on);
    static_cast<T*>(this)->PollSwitched(info.Env(), on);
    return info.Env().Undefined();
  }

  // ref(on): whether the buffer keeps the event loop alive (uv_ref / uv_unref).
  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    this->Require(info.Env());
    events_.SetRef(info[0].ToBoolean());
    return info.Env().Undefined();
  }

  EventPoll events_;
  Napi::FunctionReference onReadable_;

 private:
  bool held_ = false;
};

}  // namespace nlb
