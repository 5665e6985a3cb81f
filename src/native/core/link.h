// NativeLink: one attachment. Destroying it detaches the program unless it was
// disconnected or pinned. Links made from an object's programs are destroyed before
// that object is closed. Three kinds, one interface:
//   a libbpf bpf_link (most attach calls);
//   a kernel link known only by its fd (bpf_link_create, for what libbpf's attach calls
//     cannot express): closing the fd detaches;
//   an attachment that is not a kernel link (classic tc filter, socket filter): a detach
//     action undoes it; it cannot be pinned, updated or asked for its info.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <functional>
#include <string>

namespace nlb {

class Addon;
class ObjectHandle;

class LinkHandle : public Napi::ObjectWrap<LinkHandle> {
 public:
  static constexpr const char* kClassName = "NativeLink";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);
  static Napi::Object New(Napi::Env env, Napi::Object ownerJs, ObjectHandle* owner, bpf_link* link);
  // A kernel link by its fd (the NativeLink owns it). `owner` may be null: then only
  // this wrapper holds it (enableStats' fd, which is no link but ends the same way).
  static Napi::Object NewFd(Napi::Env env, Napi::Value ownerJs, ObjectHandle* owner, int fd);
  // Not a kernel link: `what` names it in errors ("classic tc filter"); `detach` must
  // not throw (a failing detach is not reported, like bpf_link__destroy's).
  static Napi::Object NewDetach(Napi::Env env, Napi::Object ownerJs, ObjectHandle* owner, const char* what,
                                std::function<void()> detach);

  explicit LinkHandle(const Napi::CallbackInfo& info);
  ~LinkHandle() override;
  // Detach (unless disconnected) and free. `finalizing`: called from a GC finalizer.
  void DestroyLink(bool finalizing = false);

 private:
  enum class Kind { kLibbpf, kFd, kDetach };
  static LinkHandle* Make(Napi::Env env, Napi::Value ownerJs, ObjectHandle* owner, Kind kind, bpf_link* link);
  void Get(Napi::Env env) const;  // throws once destroyed
  int KernelFd(Napi::Env env, const char* call) const;  // a kernel link's fd; EOPNOTSUPP for kDetach
  [[noreturn]] void ThrowNotALink(Napi::Env env, const char* call) const;
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
  // moveTo(object): the link now belongs to another NativeObject (BpfObject.upgrade: the
  // old object's close must not detach a link moved to the new version's program).
  Napi::Value MoveTo(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  static Napi::Value InfoFd(Napi::Env env, int fd);

  // While it owns an attachment (not destroyed, disconnected or pinned) the wrapper holds
  // a reference to itself, so GC never detaches a program; ownerRef_ keeps the object.
  void Hold(bool on);

  Kind kind_ = Kind::kLibbpf;
  bool destroyed_ = false;
  bpf_link* link_ = nullptr;       // kLibbpf
  int fd_ = -1;                    // kFd
  bool disconnected_ = false;      // kFd: the fd stays open (the attachment with it) until exit
  std::string pinPath_;            // kFd
  const char* what_ = nullptr;     // kDetach
  std::function<void()> detach_;   // kDetach; empty once disconnected
  bool held_ = false;
  ObjectHandle* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;
};

}  // namespace nlb
