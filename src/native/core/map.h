// NativeMap: one BPF map. Either a borrowed view of a NativeObject's bpf_map (alive
// while its object is), or a standalone map owning its fd (create, fromPinned,
// fromId). Byte-level operations only: sizes are checked here (memory safety), codecs
// live in TypeScript.
#pragma once
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <napi.h>

namespace nlb {

class Addon;
class ObjectHandle;

class MapHandle : public Napi::ObjectWrap<MapHandle> {
 public:
  static constexpr const char* kClassName = "NativeMap";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);
  static Napi::Object New(Napi::Env env, Napi::Object owner, bpf_map* map);
  static Napi::Object Standalone(Napi::Env env, int fd);

  explicit MapHandle(const Napi::CallbackInfo& info);
  ~MapHandle() override;

  // The map's fd for another native class (map-in-map templates); throws when unusable
  // (closed, not loaded, or not created because its autocreate was off).
  int Fd(Napi::Env env) const;
  // The object whose map this is; null for a standalone map.
  ObjectHandle* Owner() const { return owner_; }

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  static Napi::Value FromPinned(const Napi::CallbackInfo& info);
  static Napi::Value FromId(const Napi::CallbackInfo& info);
  static Napi::Value BtfById(const Napi::CallbackInfo& info);

  bpf_map* Preload(Napi::Env env) const;  // an object's map before load, else throws
  const bpf_map_info& Info(Napi::Env env);  // standalone: refreshed from the kernel once
  uint32_t KeySz(Napi::Env env);
  uint32_t ValueSz(Napi::Env env);
  uint32_t TypeId(Napi::Env env);
  uint32_t ValueStride(Napi::Env env);  // bytes per element in value buffers (per-CPU: all CPUs)
  void* KeyArg(const Napi::CallbackInfo& info, size_t i, uint32_t count = 1);
  void* ValueArg(const Napi::CallbackInfo& info, size_t i, uint32_t count = 1);

  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Type(const Napi::CallbackInfo& info);
  Napi::Value KeySize(const Napi::CallbackInfo& info);
  Napi::Value ValueSize(const Napi::CallbackInfo& info);
  Napi::Value MaxEntries(const Napi::CallbackInfo& info);
  Napi::Value Flags(const Napi::CallbackInfo& info);
  Napi::Value IsInternal(const Napi::CallbackInfo& info);
  Napi::Value IsStandalone(const Napi::CallbackInfo& info);
  Napi::Value BtfKeyTypeId(const Napi::CallbackInfo& info);
  Napi::Value BtfValueTypeId(const Napi::CallbackInfo& info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value SetKeySize(const Napi::CallbackInfo& info);
  Napi::Value SetValueSize(const Napi::CallbackInfo& info);
  Napi::Value SetFlags(const Napi::CallbackInfo& info);
  Napi::Value SetNumaNode(const Napi::CallbackInfo& info);
  Napi::Value SetMapExtra(const Napi::CallbackInfo& info);
  Napi::Value SetInnerMap(const Napi::CallbackInfo& info);
  Napi::Value ReuseFd(const Napi::CallbackInfo& info);
  Napi::Value Autocreate(const Napi::CallbackInfo& info);
  Napi::Value SetAutocreate(const Napi::CallbackInfo& info);
  Napi::Value FdValue(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value Update(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value LookupAndDelete(const Napi::CallbackInfo& info);
  Napi::Value NextKey(const Napi::CallbackInfo& info);
  Napi::Value LookupBatch(const Napi::CallbackInfo& info);
  Napi::Value UpdateBatch(const Napi::CallbackInfo& info);
  Napi::Value DeleteBatch(const Napi::CallbackInfo& info);
  Napi::Value BindSlots(const Napi::CallbackInfo& info);
  enum SlotOp { kSlotLookup, kSlotUpdate, kSlotDelete, kSlotLookupAndDelete };
  template <SlotOp Op>
  static Napi::Value SlotCall(const Napi::CallbackInfo& info);
  void CheckSlots(Napi::Env env);
  int SlotFd(Napi::Env env);
  Napi::Value Freeze(const Napi::CallbackInfo& info);
  Napi::Value AttachStructOps(const Napi::CallbackInfo& info);
  Napi::Value InfoValue(const Napi::CallbackInfo& info);
  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value MemoryReadOnly(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);
  Napi::Value PinPath(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void CloseStandalone(bool detachView);

  // Object view:
  ObjectHandle* owner_ = nullptr;
  Napi::ObjectReference ownerRef_;
  bpf_map* map_ = nullptr;
  // libbpf zeroes some map kinds' BTF type ids when it creates them (queue, devmap,
  // sockmap, map-in-map, ...): the ids as opened are what the codecs need.
  uint32_t btfKeyId_ = 0, btfValueId_ = 0;
  // Standalone:
  int fd_ = -1;
  bool closed_ = false;
  bool haveInfo_ = false;
  bpf_map_info info_ = {};
  void* mmaped_ = nullptr;
  size_t mmapSize_ = 0;
  bool mmapReadOnly_ = false;  // memory() mapped it PROT_READ (the map is frozen)
  Napi::Reference<Napi::ArrayBuffer> view_;
  // The hot path: one key and one value buffer bound once, so single-element calls
  // pass no arguments (see BindSlots).
  Napi::Reference<Napi::Uint8Array> keySlotRef_, valueSlotRef_;
  void* keySlot_ = nullptr;
  void* valueSlot_ = nullptr;
  size_t keySlotSize_ = 0, valueSlotSize_ = 0;
  int slotFd_ = -1;  // the fd SlotFd checked, once nothing it checked can change but a close
};

}  // namespace nlb
