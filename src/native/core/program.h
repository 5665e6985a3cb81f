// NativeProgram: a borrowed view of one bpf_program; keeps its NativeObject alive.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include "base/errors.h"
#include "base/log.h"

#include <vector>

namespace nlb {

class Addon;
class ObjectHandle;

// An attach target: a path opened here for the call (a cgroup directory, a network
// namespace file) and closed after it, or an fd number used as is (the caller's).
class TargetFd {
 public:
  // `what` names a path in the open() error ("cgroup" -> "cannot open cgroup '<path>'").
  TargetFd(Napi::Env env, Napi::Value target, int flags, const char* what = nullptr);
  ~TargetFd();
  TargetFd(const TargetFd&) = delete;
  TargetFd& operator=(const TargetFd&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool owned_ = false;
};

class ProgramHandle : public Napi::ObjectWrap<ProgramHandle> {
 public:
  static constexpr const char* kClassName = "NativeProgram";
  static const napi_type_tag kTypeTag;
  static Napi::Function Init(Napi::Env env, Addon* addon);
  static Napi::Object New(Napi::Env env, Napi::Object owner, bpf_program* prog);

  explicit ProgramHandle(const Napi::CallbackInfo& info);

 private:
  bpf_program* Get(Napi::Env env) const;     // throws when the object is closed
  bpf_program* Loaded(Napi::Env env) const;  // ... or not loaded, or this program was not
  Napi::Value Wrap(Napi::Env env, bpf_link* link);
  // Every attach call: `attach()` runs under a LogCapture through the error funnel, and
  // its bpf_link (or the BpfError for `call`) becomes a NativeLink.
  template <class F>
  Napi::Value Attached(Napi::Env env, const char* call, F attach) {
    LogCapture log;
    return Wrap(env, CheckPtr(env, call, log, attach));
  }

  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value SectionName(const Napi::CallbackInfo& info);
  Napi::Value Type(const Napi::CallbackInfo& info);
  Napi::Value ExpectedAttachType(const Napi::CallbackInfo& info);
  Napi::Value Autoload(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value Autoattach(const Napi::CallbackInfo& info);
  Napi::Value SetAutoattach(const Napi::CallbackInfo& info);
  Napi::Value InsnCount(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value AttachTracepoint(const Napi::CallbackInfo& info);
  Napi::Value AttachRawTracepoint(const Napi::CallbackInfo& info);
  Napi::Value Pin(const Napi::CallbackInfo& info);
  Napi::Value Unpin(const Napi::CallbackInfo& info);

  // --- Iterators, introspection and run-time statistics (program_iter.cc) ---
  Napi::Value AttachIter(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  static Napi::Value EnableStats(const Napi::CallbackInfo& info);
  static Napi::Value LineInfoByTag(const Napi::CallbackInfo& info);
  // --- Tracing, user-space and sampling attach kinds (program_trace.cc) ---
  Napi::Value SetAttachTarget(const Napi::CallbackInfo& info);
  Napi::Value AttachKprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachKprobeMulti(const Napi::CallbackInfo& info);
  Napi::Value AttachKsyscall(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobe(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobeMulti(const Napi::CallbackInfo& info);
  Napi::Value AttachUsdt(const Napi::CallbackInfo& info);
  Napi::Value AttachPerfEvent(const Napi::CallbackInfo& info);
  // --- end of program_trace.cc ---
  // --- Network attach kinds and BPF_PROG_TEST_RUN (program_net.cc) ---
 public:
  static void InitNet(Napi::Env env, std::vector<Napi::PropertyDescriptor>& methods,
                      std::vector<Napi::ClassPropertyDescriptor<ProgramHandle>>& statics);

 private:
  static Napi::Value IfNameToIndex(const Napi::CallbackInfo& info);
  static Napi::Value IfIndexToName(const Napi::CallbackInfo& info);
  Napi::Value AttachXdp(const Napi::CallbackInfo& info);
  Napi::Value AttachTcx(const Napi::CallbackInfo& info);
  Napi::Value LinkCreate(const Napi::CallbackInfo& info);
  Napi::Value AttachCgroup(const Napi::CallbackInfo& info);
  Napi::Value AttachNetns(const Napi::CallbackInfo& info);
  Napi::Value AttachSockmap(const Napi::CallbackInfo& info);
  Napi::Value AttachNetfilter(const Napi::CallbackInfo& info);
  Napi::Value TcAttach(const Napi::CallbackInfo& info);
  Napi::Value SocketAttach(const Napi::CallbackInfo& info);
  Napi::Value TestRun(const Napi::CallbackInfo& info);
  Napi::Value TestRunAsync(const Napi::CallbackInfo& info);
  // --- end of the network block ---

  ObjectHandle* owner_;
  Napi::ObjectReference ownerRef_;
  bpf_program* prog_;
};

}  // namespace nlb
