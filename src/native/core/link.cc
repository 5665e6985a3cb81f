#include "core/link.h"

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/object.h"

namespace nlb {

const napi_type_tag LinkHandle::kTypeTag = {0x6e6c626c696e6b00ULL, 0x5a0e77c1d3b24f98ULL};
static const char* const kDestroyed = "Link is destroyed";

Napi::Function LinkHandle::Init(Napi::Env env, Addon* addon) {
  using L = LinkHandle;
  Napi::Function ctor = DefineCheckedClass<L>(env,
                                    {
                                        // link_ops.cc
                                        StaticMethod("fromPinned", &L::FromPinned),
                                        StaticMethod("updateFd", &L::UpdateByFd),
                                        StaticMethod("infoFd", &L::InfoByFd),
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
                                        Method<L, &L::Info>(env, "info"),
                                    });
  addon->linkCtor = Napi::Persistent(ctor);
  return ctor;
}

Napi::Object LinkHandle::New(Napi::Env env, Napi::Object ownerJs, ObjectHandle* owner, bpf_link* link) {
  Napi::Object js;
  {
    ConstructToken token;
    js = Addon::Of(env)->linkCtor.New({ownerJs, Napi::External<bpf_link>::New(env, link)});
  }
  LinkHandle* self = Unwrap(js);
  self->owner_ = owner;
  owner->AddLink(self);
  self->Hold(true);
  return js;
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
  if (link_) bpf_link__destroy(link_);
  link_ = nullptr;
  if (!finalizing) Hold(false);
}

bpf_link* LinkHandle::Get(Napi::Env env) const {
  if (!link_) ThrowState(env, kDestroyed);
  return link_;
}

Napi::Value LinkHandle::Destroy(const Napi::CallbackInfo& info) {
  DestroyLink();
  return info.Env().Undefined();
}

Napi::Value LinkHandle::Disconnect(const Napi::CallbackInfo& info) {
  bpf_link__disconnect(Get(info.Env()));
  Hold(false);  // the attachment no longer depends on this wrapper
  return info.Env().Undefined();
}

Napi::Value LinkHandle::Pin(const Napi::CallbackInfo& info) {
  bpf_link* link = Get(info.Env());
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  Check(info.Env(), bpf_link__pin(link, path.c_str()), "bpf_link__pin", log);
  Hold(false);  // the pin keeps the attachment
  return info.Env().Undefined();
}

Napi::Value LinkHandle::Unpin(const Napi::CallbackInfo& info) {
  LogCapture log;
  bpf_link* link = Get(info.Env());
  Check(info.Env(), bpf_link__unpin(link), "bpf_link__unpin", log);
  Hold(true);
  return info.Env().Undefined();
}

Napi::Value LinkHandle::PinPath(const Napi::CallbackInfo& info) {
  const char* path = bpf_link__pin_path(Get(info.Env()));
  return path ? Napi::String::New(info.Env(), path) : info.Env().Null();
}

Napi::Value LinkHandle::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_link__fd(Get(info.Env())));
}

Napi::Value LinkHandle::Destroyed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), link_ == nullptr);
}

}  // namespace nlb
