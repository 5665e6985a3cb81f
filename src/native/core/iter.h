// NativeIter: one instance of a BPF iterator (the fd bpf_iter_create() gives for an
// iterator link). Reading it runs the iterator program in the reading thread, so the
// kernel does the work inside read(2): readSync() for small outputs on the JS thread,
// read() on the libuv thread pool (one AsyncWorker per chunk) for large ones.
#pragma once
#include <napi.h>

namespace nlb {

class Addon;

class IterHandle : public Napi::ObjectWrap<IterHandle> {
 public:
  static constexpr const char* kClassName = "NativeIter";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);

  explicit IterHandle(const Napi::CallbackInfo& info);
  ~IterHandle() override;

 private:
  friend class IterReadWorker;
  static Napi::Value Open(const Napi::CallbackInfo& info);
  int Usable(Napi::Env env) const;  // the fd; throws when closed or a read is in flight
  void CloseFd();

  Napi::Value ReadSync(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  int fd_ = -1;
  bool busy_ = false;             // an IterReadWorker owns the fd until it completes
  bool closeAfterRead_ = false;   // close() came while it did
};

}  // namespace nlb
