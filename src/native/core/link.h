// NativeLink: one bpf_link (an attachment). Destroying it detaches the program unless
// it was disconnected or pinned. Links made from an object's programs are destroyed
// before that object is closed.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

namespace nlb {

class Addon;
class ObjectHandle;

class LinkHandle : public Napi::ObjectWrap<LinkHandle> {
 public:
  static constexpr const char* kClassName = "NativeLink";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);
  static Napi::Object New(Napi::Env env, Napi::Object ownerJs, ObjectHandle* owner, bpf_link* link);

  explicit LinkHandle(const Napi::CallbackInfo& info);
  ~LinkHandle() override;
  // Detach (unless disconnected) and free. `finalizing`: called from a GC finalizer.
  void DestroyLink(bool finalizing = false);

 private:
  bpf_link* Get(Napi::Env env) const;
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  Napi::Value Disconnect(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value PinPath(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Destroyed(const Napi::CallbackInfo& info);

  // --- Links by pin, program swap and the kernel's link info (link_ops.cc) ---
  static Napi::Value FromPinned(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  // The same two for links known only by their fd (bpf_link_create, attach-net.ts).
  static Napi::Value UpdateByFd(const Napi::CallbackInfo& info);
  static Napi::Value InfoByFd(const Napi::CallbackInfo& info);
  static Napi::Value InfoFd(Napi::Env env, int fd);

  // While it owns an attachment (not destroyed, disconnected or pinned) the wrapper holds
  // a reference to itself, so GC never detaches a program; ownerRef_ keeps the object.
  void Hold(bool on);

  bpf_link* link_ = nullptr;
  bool held_ = false;
  ObjectHandle* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;
};

}  // namespace nlb
