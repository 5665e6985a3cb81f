#include "core/object.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include <sys/mman.h>

#include <cstring>

#include "base/addon.h"
#include "base/errors.h"
#include "base/log.h"
#include "base/wrap.h"
#include "core/link.h"
#include "core/map.h"
#include "core/program.h"

namespace nlb {

const napi_type_tag ObjectHandle::kTypeTag = {0x6e6c62706f626a00ULL, 0x9e1c3a7d51f04b21ULL};

Napi::Function ObjectHandle::Init(Napi::Env env, Addon* addon) {
  Napi::Function ctor = DefineCheckedClass<ObjectHandle>(env, {StaticMethod("open", &ObjectHandle::Open)},
                                    {
                                        Method<ObjectHandle, &ObjectHandle::Name>(env, "name"),
                                        Method<ObjectHandle, &ObjectHandle::Programs>(env, "programs"),
                                        Method<ObjectHandle, &ObjectHandle::Maps>(env, "maps"),
                                        Method<ObjectHandle, &ObjectHandle::Load>(env, "load"),
                                        Method<ObjectHandle, &ObjectHandle::BtfData>(env, "btf"),
                                        Method<ObjectHandle, &ObjectHandle::Close>(env, "close"),
                                        Method<ObjectHandle, &ObjectHandle::AdoptChildren>(env, "adoptChildren"),
                                    });
  addon->objectCtor = Napi::Persistent(ctor);
  return ctor;
}

ObjectHandle::ObjectHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ObjectHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  obj_ = info[0].As<Napi::External<bpf_object>>().Data();
}

ObjectHandle::~ObjectHandle() {
  // Leak backstop only: close() is the contract. Loads, links, programs, maps and
  // memory views all hold references to this wrapper, so none of them is alive here.
  Destroy(false);
}

bpf_object* ObjectHandle::Get(Napi::Env env) const {
  if (state_ == kStateClosed) ThrowState(env, nlb::State::kObjectClosed);
  if (state_ == kStateLoading) ThrowState(env, nlb::State::kObjectLoading);
  return obj_;
}

void ObjectHandle::RequireLoaded(Napi::Env env) const {
  Get(env);
  if (state_ != kStateLoaded) ThrowState(env, nlb::State::kObjectNotLoaded);
}

void ObjectHandle::RequireNotLoaded(Napi::Env env) const {
  Get(env);
  if (state_ == kStateLoaded) ThrowState(env, nlb::State::kObjectLoaded);
  if (state_ == kStateFailed) ThrowState(env, nlb::State::kObjectLoadFailed);
}

// Each view keeps the object alive (a strong reference released by the view's
// finalizer), so GC never unmaps memory a live view points to; close() detaches them.
Napi::ArrayBuffer ObjectHandle::TrackMemory(Napi::Env env, void* data, size_t size, bool owned) {
  if (owned) mappings_.emplace_back(data, size);
  auto* keepAlive = new Napi::ObjectReference(Napi::Persistent(Value()));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, data, size, [](Napi::Env, void*, Napi::ObjectReference* ref) { delete ref; }, keepAlive);
  memory_.emplace_back(data, Napi::Weak(ab));
  return ab;
}

// libbpf remaps .rodata/.kconfig read-only (same address) at load: views made before it
// would now fault on a write. Detached, they read as closed and memory() makes new ones.
void ObjectHandle::DetachReadOnlyMemory() {
  bpf_map* map;
  bpf_object__for_each_map(map, obj_) {
    size_t size = 0;
    if (!bpf_map__is_internal(map) || !(bpf_map__map_flags(map) & BPF_F_RDONLY_PROG)) continue;
    if (void* data = bpf_map__initial_value(map, &size)) DetachMemory(data);
  }
}

void ObjectHandle::DetachMemory(void* data) {
  for (auto& [ptr, ref] : memory_) {
    if (ptr == data && !ref.Value().IsEmpty()) ref.Value().Detach();
  }
}

static std::string OptString(Napi::Object opts, const char* key) {
  Napi::Value v = opts.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// open(pathOrBytes, { name, btfCustomPath, kconfig, pinRoot, kernelLogLevel, bpfToken })
Napi::Value ObjectHandle::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  std::string name = OptString(opts, "name"), btf = OptString(opts, "btfCustomPath"),
              kconfig = OptString(opts, "kconfig"), pinRoot = OptString(opts, "pinRoot");
  LIBBPF_OPTS(bpf_object_open_opts, o);
  if (!name.empty()) o.object_name = name.c_str();
  if (!btf.empty()) o.btf_custom_path = btf.c_str();
  if (!kconfig.empty()) o.kconfig = kconfig.c_str();
  if (!pinRoot.empty()) o.pin_root_path = pinRoot.c_str();
  if (opts.Get("kernelLogLevel").IsNumber()) o.kernel_log_level = opts.Get("kernelLogLevel").As<Napi::Number>().Uint32Value();
  // A bpffs with delegation for libbpf's BPF token; "" prevents a token (libbpf's convention).
  std::string token = OptString(opts, "bpfToken");
  if (opts.Get("bpfToken").IsString()) o.bpf_token_path = token.c_str();

  LogCapture log;
  bpf_object* obj;
  if (info[0].IsString()) {
    std::string path = info[0].As<Napi::String>().Utf8Value();
    obj = CheckPtr(env, "bpf_object__open_file", log, [&] { return bpf_object__open_file(path.c_str(), &o); });
  } else {
    Napi::Uint8Array bytes = BytesArg(info, 0, "object");
    obj = CheckPtr(env, "bpf_object__open_mem", log, [&] { return bpf_object__open_mem(bytes.Data(), bytes.ByteLength(), &o); });
  }
  DeliverLog(env, log.lines);
  Napi::Object self;
  {
    ConstructToken token;
    self = Addon::Of(env)->objectCtor.New({Napi::External<bpf_object>::New(env, obj)});
  }
  Unwrap(self)->kernelLogLevel_ = o.kernel_log_level;
  return self;
}

Napi::Value ObjectHandle::Name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), bpf_object__name(Get(info.Env())));
}

Napi::Value ObjectHandle::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* obj = Get(env);
  Napi::Array out = Napi::Array::New(env);
  bpf_program* prog;
  uint32_t i = 0;
  bpf_object__for_each_program(prog, obj) out.Set(i++, ProgramHandle::New(env, info.This().As<Napi::Object>(), prog));
  return out;
}

Napi::Value ObjectHandle::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_object* obj = Get(env);
  Napi::Array out = Napi::Array::New(env);
  bpf_map* map;
  uint32_t i = 0;
  bpf_object__for_each_map(map, obj) out.Set(i++, MapHandle::New(env, info.This().As<Napi::Object>(), map));
  return out;
}

// bpf_object__load runs on a libuv worker: relocation and verification can take
// seconds. The wrapper is referenced for the duration, so GC cannot close it mid-load.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, ObjectHandle* owner, Napi::Object self)
      : Napi::AsyncWorker(env, "node-libbpf:load"), owner_(owner), deferred_(Napi::Promise::Deferred::New(env)) {
    self_ = Napi::Persistent(self);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    // With a kernel log level set, libbpf prints successful loads' verifier logs at
    // debug level: capture them for Program.verifierLog.
    LogCapture log(owner_->kernelLogLevel_ ? LIBBPF_DEBUG : -1);
    err_ = bpf_object__load(owner_->obj_);
    if (err_ > 0) err_ = -err_;
    if (!err_) err_ = owner_->MapReused();
    lines_ = std::move(log.lines);
  }
  void OnOK() override {
    Napi::Env env = Env();
    // libbpf cannot retry a failed load: the object stays in a failed state.
    owner_->state_ = err_ ? ObjectHandle::kStateFailed : ObjectHandle::kStateLoaded;
    if (!err_) owner_->DetachReadOnlyMemory();
    DeliverLog(env, lines_);
    if (owner_->closeAfterLoad_) {
      owner_->Destroy(true);
      deferred_.Reject(StateError(env, nlb::State::kObjectClosed).Value());
    } else if (err_) {
      deferred_.Reject(MakeBpfError(env, -err_, "bpf_object__load", lines_).Value());
    } else {
      deferred_.Resolve(LinesToArray(env, lines_));
    }
  }

 private:
  ObjectHandle* owner_;
  Napi::ObjectReference self_;
  Napi::Promise::Deferred deferred_;
  int err_ = 0;
  std::vector<LogLine> lines_;
};

Napi::Value ObjectHandle::Load(const Napi::CallbackInfo& info) {
  RequireNotLoaded(info.Env());
  auto* worker = new LoadWorker(info.Env(), this, info.This().As<Napi::Object>());
  state_ = kStateLoading;
  worker->Queue();
  return worker->Promise();
}

Napi::Value ObjectHandle::BtfData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct btf* btf = bpf_object__btf(Get(env));
  if (!btf) return env.Null();
  uint32_t size = 0;
  const void* data = btf__raw_data(btf, &size);
  if (!data) return env.Null();
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), size);
}

Napi::Value ObjectHandle::Close(const Napi::CallbackInfo& info) {
  if (state_ == kStateLoading) {
    closeAfterLoad_ = true;  // the load worker closes it when the kernel is done
  } else {
    Destroy(true);
  }
  return info.Env().Undefined();
}

// libbpf maps an internal map's memory (.data, .bss: what `globals` reads) over the
// map only when it creates it: for a reused one, the view still shows the initial values.
int ObjectHandle::MapReused() {
  for (bpf_map* map : reused_) {
    if (!bpf_map__is_internal(map) || !(bpf_map__map_flags(map) & BPF_F_MMAPABLE)) continue;
    size_t size = 0;
    void* data = bpf_map__initial_value(map, &size);
    if (!data || !size) continue;
    if (mmap(data, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, bpf_map__fd(map), 0) == MAP_FAILED) return -errno;
  }
  return 0;
}

Napi::Value ObjectHandle::AdoptChildren(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kTypeTag)) {
    throw TypeError(env, "object must be a NativeObject");
  }
  ObjectHandle* old = Unwrap(info[0].As<Napi::Object>());
  std::set<uint32_t> ids;
  bpf_map* map;
  bpf_object__for_each_map(map, obj_) {
    int fd = bpf_map__fd(map);
    if (fd < 0) continue;
    bpf_map_info mapInfo = {};
    uint32_t len = sizeof mapInfo;
    if (bpf_map_get_info_by_fd(fd, &mapInfo, &len) == 0) ids.insert(mapInfo.id);
  }
  uint32_t moved = 0;
  for (ObjectChild* child : std::vector<ObjectChild*>(old->children_.begin(), old->children_.end())) {
    if (!child->ChildMapId() || !ids.count(child->ChildMapId())) continue;
    old->children_.erase(child);
    children_.insert(child);
    child->SetChildOwner(this);
    moved++;
  }
  return Napi::Number::New(env, moved);
}

void ObjectHandle::Destroy(bool detachViews) {
  if (state_ == kStateClosed) return;
  state_ = kStateClosed;
  std::vector<Napi::FunctionReference> notices;
  while (!children_.empty()) notices.push_back((*children_.begin())->CloseByOwner(!detachViews));  // each removes itself
  while (!links_.empty()) (*links_.begin())->DestroyLink(!detachViews);  // removes itself from links_
  for (auto& [ptr, ref] : memory_) {
    if (detachViews && !ref.Value().IsEmpty()) ref.Value().Detach();
  }
  memory_.clear();
  for (auto& [data, size] : mappings_) munmap(data, size);
  mappings_.clear();
  bpf_object__close(obj_);
  obj_ = nullptr;
  if (!detachViews) return;  // a finalizer: no JS
  for (auto& notice : notices) {
    if (!notice.IsEmpty()) notice.Call({});
  }
}

}  // namespace nlb
