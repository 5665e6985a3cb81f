// NativeObject: owns one bpf_object (open -> configure -> load -> close).
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <set>
#include <vector>

namespace nlb {

class Addon;
class LinkHandle;
class ObjectHandle;

// A child an object closes before itself, besides its links (better-sqlite3's
// CloseHandles): the event buffers made from its maps. Each deregisters when it closes.
class ObjectChild {
 public:
  // Release everything now (`finalizing`: from a GC finalizer, no JS); returns who to
  // tell once the object is closed (empty: nobody).
  virtual Napi::FunctionReference CloseByOwner(bool finalizing) = 0;
  // The kernel id of the map it reads (0: none known), and a new owner (an upgrade).
  virtual uint32_t ChildMapId() const = 0;
  virtual void SetChildOwner(ObjectHandle* owner) = 0;

 protected:
  ~ObjectChild() = default;
};

class ObjectHandle : public Napi::ObjectWrap<ObjectHandle> {
 public:
  static constexpr const char* kClassName = "NativeObject";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);

  explicit ObjectHandle(const Napi::CallbackInfo& info);
  ~ObjectHandle() override;

  // The bpf_object for a child's use; throws the fixed TypeError when closed or loading.
  bpf_object* Get(Napi::Env env) const;
  bool IsLoaded() const { return state_ == kStateLoaded; }
  void RequireLoaded(Napi::Env env) const;
  void RequireNotLoaded(Napi::Env env) const;

  // Links made from this object's programs: destroyed before the object is closed.
  void AddLink(LinkHandle* link) { links_.insert(link); }
  void RemoveLink(LinkHandle* link) { links_.erase(link); }
  void AddChild(ObjectChild* child) { children_.insert(child); }
  void RemoveChild(ObjectChild* child) { children_.erase(child); }
  // An external ArrayBuffer over map memory, detached when the object closes; `owned`:
  // our own mmap() (unmapped then), else libbpf's mapping.
  Napi::ArrayBuffer TrackMemory(Napi::Env env, void* data, size_t size, bool owned);
  // Detaches the views over `data` (libbpf moved a map's memory: a pre-load resize).
  void DetachMemory(void* data);
  // A map given another map's fd (MapHandle::ReuseFd): after load, its memory view is
  // mapped over the reused map (libbpf only maps the maps it creates).
  void MarkReused(bpf_map* map) { reused_.push_back(map); }
  // Detaches the views of .rodata/.kconfig, which a successful load made read-only.
  void DetachReadOnlyMemory();

 private:
  enum State { kStateOpen, kStateLoading, kStateLoaded, kStateFailed, kStateClosed };
  friend class LoadWorker;

  static Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value BtfData(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // adoptChildren(old): the event buffers of `old` whose map this (loaded) object reuses
  // become this object's children, so closing `old` leaves them reading.
  Napi::Value AdoptChildren(const Napi::CallbackInfo& info);
  // The close cascade, in one place: event buffers, links, map memory, the object; then
  // (with JS running) each buffer's onClosed.
  void Destroy(bool detachViews);

  bpf_object* obj_ = nullptr;
  State state_ = kStateOpen;
  bool closeAfterLoad_ = false;
  uint32_t kernelLogLevel_ = 0;
  std::set<ObjectChild*> children_;
  std::set<LinkHandle*> links_;
  std::vector<std::pair<void*, Napi::Reference<Napi::ArrayBuffer>>> memory_;
  std::vector<std::pair<void*, size_t>> mappings_;
  std::vector<bpf_map*> reused_;
  int MapReused();  // on the load worker: 0 or -errno
};

}  // namespace nlb
