#include "core/iter.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <unistd.h>

#include <vector>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"

namespace nlb {

const napi_type_tag IterHandle::kTypeTag = {0x6e6c626974657200ULL, 0x93d1c04be5a26f17ULL};

Napi::Function IterHandle::Init(Napi::Env env, Addon* addon) {
  using I = IterHandle;
  Napi::Function ctor = DefineCheckedClass<I>(env, {StaticMethod("open", &I::Open)},
                                              {
                                                  Method<I, &I::ReadSync>(env, "readSync"),
                                                  Method<I, &I::Read>(env, "read"),
                                                  Method<I, &I::Close>(env, "close"),
                                              });
  addon->iterCtor = Napi::Persistent(ctor);
  return ctor;
}

// open(linkFd): a new instance of the iterator behind an iterator link; each one walks
// its objects from the start.
Napi::Value IterHandle::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LogCapture log;
  int fd = Check(env, bpf_iter_create(info[0].As<Napi::Number>().Int32Value()), "bpf_iter_create", log);
  ConstructToken token;
  return Addon::Of(env)->iterCtor.New({Napi::Number::New(env, fd)});
}

IterHandle::IterHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IterHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  fd_ = info[0].As<Napi::Number>().Int32Value();
}

// GC backstop (never while a read is in flight: the worker references the wrapper).
IterHandle::~IterHandle() { CloseFd(); }

void IterHandle::CloseFd() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int IterHandle::Usable(Napi::Env env) const {
  if (fd_ < 0 || closeAfterRead_) ThrowState(env, State::kIterClosed);
  if (busy_) ThrowState(env, State::kIterBusy);
  return fd_;
}

// One read(2), retried on EINTR: bytes read, 0 at the end, -errno on failure.
static ssize_t ReadOnce(int fd, void* buf, size_t size) {
  ssize_t n;
  do n = SysResult(read(fd, buf, size));
  while (n == -EINTR);
  return n;
}

// readSync(buffer) -> bytes read into it (0: the iterator is done).
Napi::Value IterHandle::ReadSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Usable(env);
  Napi::Uint8Array buf = BytesArg(info, 0, "buffer");
  LogCapture log;
  ssize_t n = ReadOnce(fd, buf.Data(), buf.ByteLength());
  Check(env, static_cast<int>(n < 0 ? n : 0), "read", log);
  return Napi::Number::New(env, static_cast<double>(n));
}

class IterReadWorker : public Napi::AsyncWorker {
 public:
  IterReadWorker(Napi::Env env, IterHandle* iter, Napi::Object self, size_t size)
      : Napi::AsyncWorker(env, "node-libbpf:iter-read"), iter_(iter), fd_(iter->fd_), buf_(size),
        deferred_(Napi::Promise::Deferred::New(env)) {
    self_ = Napi::Persistent(self);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { n_ = ReadOnce(fd_, buf_.data(), buf_.size()); }
  void OnOK() override {
    Napi::Env env = Env();
    iter_->busy_ = false;
    if (iter_->closeAfterRead_) iter_->CloseFd();
    if (n_ < 0) {
      deferred_.Reject(MakeBpfError(env, static_cast<int>(-n_), "read", {}).Value());
    } else {
      deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, buf_.data(), static_cast<size_t>(n_)));
    }
  }

 private:
  IterHandle* iter_;
  int fd_;
  std::vector<uint8_t> buf_;
  Napi::ObjectReference self_;
  Napi::Promise::Deferred deferred_;
  ssize_t n_ = 0;
};

// read(size) -> Promise<Buffer> of up to `size` bytes, read on the thread pool (an
// empty Buffer: the iterator is done).
Napi::Value IterHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Usable(env);
  size_t size = info[0].As<Napi::Number>().Uint32Value();
  if (size == 0) throw RangeError(env, "size must be positive");
  auto* worker = new IterReadWorker(env, this, info.This().As<Napi::Object>(), size);
  busy_ = true;
  worker->Queue();
  return worker->Promise();
}

// Idempotent. While a read is in flight the fd is closed when it completes.
Napi::Value IterHandle::Close(const Napi::CallbackInfo& info) {
  if (busy_) {
    closeAfterRead_ = true;
  } else {
    CloseFd();
  }
  return info.Env().Undefined();
}

}  // namespace nlb
