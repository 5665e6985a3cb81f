#include "core/link.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/object.h"

namespace nlb {

const napi_type_tag LinkHandle::kTypeTag = {0x6e6c626c696e6b00ULL, 0x5a0e77c1d3b24f98ULL};

Napi::Function LinkHandle::Init(Napi::Env env, Addon* addon) {
  using L = LinkHandle;
  Napi::Function ctor = DefineCheckedClass<L>(env,
                                    {
                                        // link_ops.cc
                                        StaticMethod("fromPinned", &L::FromPinned),
                                    },
                                    {
                                        Method<L, &L::Destroy>(env, "destroy"),
                                        Method<L, &L::Disconnect>(env, "disconnect"),
                                        Method<L, &L::Pin>(env, "pin"),
                                        Method<L, &L::Unpin>(env, "unpin"),
                                        Method<L, &L::PinPath>(env, "pinPath"),
                                        Method<L, &L::Fd>(env, "fd"),
                                        Method<L, &L::Destroyed>(env, "destroyed"),
                                        // link_ops.cc
                                        Method<L, &L::Update>(env, "update"),
                                        Method<L, &L::MoveTo>(env, "moveTo"),
                                        Method<L, &L::Info>(env, "info"),
                                    });
  addon->linkCtor = Napi::Persistent(ctor);
  return ctor;
}

LinkHandle* LinkHandle::Make(Napi::Env env, Napi::Value ownerJs, ObjectHandle* owner, Kind kind, bpf_link* link) {
  Napi::Object js;
  {
    ConstructToken token;
    js = Addon::Of(env)->linkCtor.New({ownerJs, Napi::External<bpf_link>::New(env, link)});
  }
  LinkHandle* self = Unwrap(js);
  self->kind_ = kind;
  self->owner_ = owner;
  if (owner) owner->AddLink(self);
  self->Hold(true);
  return self;
}

Napi::Object LinkHandle::New(Napi::Env env, Napi::Object ownerJs, ObjectHandle* owner, bpf_link* link) {
  return Make(env, ownerJs, owner, Kind::kLibbpf, link)->Value();
}

Napi::Object LinkHandle::NewFd(Napi::Env env, Napi::Value ownerJs, ObjectHandle* owner, int fd) {
  LinkHandle* self = Make(env, ownerJs, owner, Kind::kFd, nullptr);
  self->fd_ = fd;
  return self->Value();
}

Napi::Object LinkHandle::NewDetach(Napi::Env env, Napi::Object ownerJs, ObjectHandle* owner, const char* what,
                                   std::function<void()> detach) {
  LinkHandle* self = Make(env, ownerJs, owner, Kind::kDetach, nullptr);
  self->what_ = what;
  self->detach_ = std::move(detach);
  return self->Value();
}

LinkHandle::LinkHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  if (info[0].IsObject()) ownerRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  link_ = info[1].As<Napi::External<bpf_link>>().Data();
}

// GC backstop: reached only when nothing references the link, and (through ownerRef_)
// its object is still open or was closed with this link already destroyed.
LinkHandle::~LinkHandle() { DestroyLink(true); }

void LinkHandle::Hold(bool on) {
  if (on && !held_) Ref();
  if (!on && held_) Unref();
  held_ = on;
}

void LinkHandle::DestroyLink(bool finalizing) {
  if (owner_) owner_->RemoveLink(this);
  owner_ = nullptr;
  if (!destroyed_) {
    destroyed_ = true;
    switch (kind_) {
      case Kind::kLibbpf:
        if (link_) bpf_link__destroy(link_);
        break;
      case Kind::kFd:
        if (!disconnected_ && fd_ >= 0) close(fd_);
        break;
      case Kind::kDetach:
        if (detach_) detach_();
        detach_ = nullptr;
        break;
    }
    link_ = nullptr;
  }
  if (!finalizing) Hold(false);
}

void LinkHandle::Get(Napi::Env env) const {
  if (destroyed_) ThrowState(env, State::kLinkDestroyed);
}

void LinkHandle::ThrowNotALink(Napi::Env env, const char* call) const {
  throw MakeBpfError(env, EOPNOTSUPP, call, {{0, std::string("a ") + what_ + " is not a BPF link"}});
}

int LinkHandle::KernelFd(Napi::Env env, const char* call) const {
  Get(env);
  if (kind_ == Kind::kDetach) ThrowNotALink(env, call);
  return kind_ == Kind::kFd ? fd_ : bpf_link__fd(link_);
}

Napi::Value LinkHandle::Destroy(const Napi::CallbackInfo& info) {
  DestroyLink();
  return info.Env().Undefined();
}

Napi::Value LinkHandle::Disconnect(const Napi::CallbackInfo& info) {
  Get(info.Env());
  if (kind_ == Kind::kLibbpf) bpf_link__disconnect(link_);
  disconnected_ = true;
  detach_ = nullptr;
  Hold(false);  // the attachment no longer depends on this wrapper
  return info.Env().Undefined();
}

Napi::Value LinkHandle::Pin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = KernelFd(env, "bpf_link__pin");
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  if (kind_ == Kind::kLibbpf) {
    Check(env, bpf_link__pin(link_, path.c_str()), "bpf_link__pin", log);
  } else {
    Check(env, bpf_obj_pin(fd, path.c_str()), "bpf_obj_pin", log);
    pinPath_ = path;
  }
  Hold(false);  // the pin keeps the attachment
  return env.Undefined();
}

Napi::Value LinkHandle::Unpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Get(env);
  LogCapture log;
  if (kind_ == Kind::kLibbpf) {
    Check(env, bpf_link__unpin(link_), "bpf_link__unpin", log);
  } else if (kind_ == Kind::kFd && !pinPath_.empty()) {
    int err = SysResult(unlink(pinPath_.c_str()));
    if (err < 0) throw MakeBpfError(env, -err, "bpf_link__unpin", {{0, pinPath_}});
    pinPath_.clear();
  } else {
    return env.Undefined();  // nothing pinned
  }
  Hold(true);
  return env.Undefined();
}

Napi::Value LinkHandle::PinPath(const Napi::CallbackInfo& info) {
  Get(info.Env());
  const char* path = kind_ == Kind::kLibbpf ? bpf_link__pin_path(link_) : pinPath_.empty() ? nullptr : pinPath_.c_str();
  return path ? Napi::String::New(info.Env(), path) : info.Env().Null();
}

// -1 for an attachment that is not a kernel link.
Napi::Value LinkHandle::Fd(const Napi::CallbackInfo& info) {
  Get(info.Env());
  return Napi::Number::New(info.Env(), kind_ == Kind::kDetach ? -1 : kind_ == Kind::kFd ? fd_ : bpf_link__fd(link_));
}

Napi::Value LinkHandle::Destroyed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), destroyed_);
}

}  // namespace nlb
