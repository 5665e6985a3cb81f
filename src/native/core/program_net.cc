// ProgramHandle, network part: XDP, tcx and classic tc, cgroups, network namespaces,
// socket filters, sockmaps, netfilter, and BPF_PROG_TEST_RUN. Argument checks and
// option parsing live in TypeScript (attach/net.ts); this file only calls libbpf, and
// every attachment it makes, kernel link or not, comes back as a NativeLink.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/errors.h"
#include "base/wrap.h"
#include "core/link.h"
#include "core/program.h"

namespace nlb {

void ProgramHandle::InitNet(Napi::Env env, std::vector<Napi::PropertyDescriptor>& methods,
                            std::vector<Napi::ClassPropertyDescriptor<ProgramHandle>>& statics) {
  using P = ProgramHandle;
  statics.push_back(StaticMethod<&P::IfNameToIndex>("ifNameToIndex"));
  statics.push_back(StaticMethod<&P::IfIndexToName>("ifIndexToName"));
  for (auto m : {
           Method<P, &P::AttachXdp>(env, "attachXdp"),
           Method<P, &P::AttachTcx>(env, "attachTcx"),
           Method<P, &P::LinkCreate>(env, "linkCreate"),
           Method<P, &P::AttachCgroup>(env, "attachCgroup"),
           Method<P, &P::AttachNetns>(env, "attachNetns"),
           Method<P, &P::AttachSockmap>(env, "attachSockmap"),
           Method<P, &P::AttachNetfilter>(env, "attachNetfilter"),
           Method<P, &P::TcAttach>(env, "tcAttach"),
           Method<P, &P::SocketAttach>(env, "socketAttach"),
           Method<P, &P::TestRun>(env, "testRun"),
           Method<P, &P::TestRunAsync>(env, "testRunAsync"),
       }) {
    methods.push_back(m);
  }
}

// TypeScript validated the arguments; these only guard memory safety.
static uint32_t U32Arg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsNumber() ? info[i].As<Napi::Number>().Uint32Value() : 0;
}
static int32_t I32Arg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : 0;
}

// 0 when there is no such interface (TypeScript then throws a RangeError naming it).
Napi::Value ProgramHandle::IfNameToIndex(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "ifname");
  return Napi::Number::New(info.Env(), if_nametoindex(name.c_str()));
}

Napi::Value ProgramHandle::IfIndexToName(const Napi::CallbackInfo& info) {
  char name[IF_NAMESIZE] = {0};
  if (!if_indextoname(U32Arg(info, 0), name)) return info.Env().Null();
  return Napi::String::New(info.Env(), name);
}

Napi::Value ProgramHandle::AttachXdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  return Attached(env, "bpf_program__attach_xdp", [&] { return bpf_program__attach_xdp(prog_, I32Arg(info, 0)); });
}

// attachTcx(ifindex, flags, relativeFd, relativeId, expectedRevision): the direction is
// the program's expected attach type (tcx/ingress, tcx/egress).
Napi::Value ProgramHandle::AttachTcx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  LIBBPF_OPTS(bpf_tcx_opts, opts, .flags = U32Arg(info, 1), .relative_fd = U32Arg(info, 2),
              .relative_id = U32Arg(info, 3), .expected_revision = U32Arg(info, 4));
  return Attached(env, "bpf_program__attach_tcx", [&] { return bpf_program__attach_tcx(prog_, I32Arg(info, 0), &opts); });
}

static int AttachTypeByName(const std::string& name) {
  for (int i = 0; i < 256; i++) {
    const char* s = libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(i));
    if (!s) break;
    if (name == s) return i;
  }
  return -1;
}

// linkCreate(target, attachType, flags, relativeFd, relativeId, expectedRevision) -> a
// NativeLink owning the new link's fd. For what libbpf's bpf_program__attach_* cannot
// express: another attach type than the program's expected one, or XDP mode flags.
// `target`: an ifindex, a map's or cgroup's fd, or a cgroup directory's path (opened
// for the call only).
Napi::Value ProgramHandle::LinkCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_program* prog = Loaded(env);
  int type = AttachTypeByName(StringArg(info, 1, "attachType"));
  if (type < 0) throw RangeError(env, "attachType: unknown attach type");
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = U32Arg(info, 2));
  uint32_t relFd = U32Arg(info, 3), relId = U32Arg(info, 4), revision = U32Arg(info, 5);
  if (type == BPF_TCX_INGRESS || type == BPF_TCX_EGRESS) {
    opts.tcx.relative_fd = relFd;
    opts.tcx.relative_id = relId;
    opts.tcx.expected_revision = revision;
  } else if (relFd || relId || revision) {
    opts.cgroup.relative_fd = relFd;  // cgroup links (kernel 6.15+) take anchors too
    opts.cgroup.relative_id = relId;
    opts.cgroup.expected_revision = revision;
  }
  TargetFd target(env, info[0], O_RDONLY | O_DIRECTORY);
  LogCapture log;
  int fd = bpf_link_create(bpf_program__fd(prog), target.fd(), static_cast<bpf_attach_type>(type), &opts);
  return LinkHandle::NewFd(env, ownerRef_.Value(), owner_, Check(env, fd, "bpf_link_create", log));
}

Napi::Value ProgramHandle::AttachCgroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  TargetFd cgroup(env, info[0], O_RDONLY | O_DIRECTORY);
  return Attached(env, "bpf_program__attach_cgroup", [&] { return bpf_program__attach_cgroup(prog_, cgroup.fd()); });
}

Napi::Value ProgramHandle::AttachNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  TargetFd netns(env, info[0], O_RDONLY);
  return Attached(env, "bpf_program__attach_netns", [&] { return bpf_program__attach_netns(prog_, netns.fd()); });
}

Napi::Value ProgramHandle::AttachSockmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  return Attached(env, "bpf_program__attach_sockmap", [&] { return bpf_program__attach_sockmap(prog_, I32Arg(info, 0)); });
}

// attachNetfilter(pf, hooknum, priority, flags)
Napi::Value ProgramHandle::AttachNetfilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  LIBBPF_OPTS(bpf_netfilter_opts, opts, .pf = U32Arg(info, 0), .hooknum = U32Arg(info, 1),
              .priority = I32Arg(info, 2), .flags = U32Arg(info, 3));
  return Attached(env, "bpf_program__attach_netfilter", [&] { return bpf_program__attach_netfilter(prog_, &opts); });
}

// Classic tc (kernels without tcx): a clsact qdisc plus a cls_bpf filter in
// direct-action mode. tcAttach(ifindex, egress, handle, priority) -> a NativeLink whose
// destroy() removes the filter. Removing it needs no loaded program (the filter holds its
// own reference to the program), so the object's close can detach it.
Napi::Value ProgramHandle::TcAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bpf_program* prog = Loaded(env);
  int ifindex = I32Arg(info, 0);
  bool egress = info[1].ToBoolean();
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  LogCapture log;
  int err = bpf_tc_hook_create(&hook);  // the clsact qdisc; EEXIST: already there
  if (err != -EEXIST) Check(env, err, "bpf_tc_hook_create", log);
  hook.attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog), .handle = U32Arg(info, 2),
              .priority = U32Arg(info, 3));
  Check(env, bpf_tc_attach(&hook, &opts), "bpf_tc_attach", log);
  uint32_t handle = opts.handle, priority = opts.priority;
  // Like bpf_link__destroy, a failing detach is not reported: the interface may be gone
  // already, which removed the filter.
  return LinkHandle::NewDetach(env, ownerRef_.Value(), owner_, "classic tc filter", [=] {
    LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
    LIBBPF_OPTS(bpf_tc_opts, o, .handle = handle, .priority = priority);
    LogCapture quiet;
    bpf_tc_detach(&h, &o);
  });
}

static int SocketInode(int fd, uint64_t* ino) {
  struct stat st;
  int err = SysResult(fstat(fd, &st));
  if (err < 0) return err;
  if (!S_ISSOCK(st.st_mode)) return -ENOTSOCK;
  *ino = st.st_ino;
  return 0;
}

// socketAttach(fd) -> a NativeLink whose destroy() detaches the filter, if the fd still
// names the same socket (by its inode: the application may have closed it meanwhile)
// and the filter is still there. A failing detach is not reported.
Napi::Value ProgramHandle::SocketAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int progFd = bpf_program__fd(Loaded(env));
  int fd = I32Arg(info, 0);
  uint64_t ino = 0;
  LogCapture log;
  Check(env, SocketInode(fd, &ino), "fstat", log);
  CheckSys(env, setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &progFd, sizeof(progFd)), "setsockopt(SO_ATTACH_BPF)", log);
  return LinkHandle::NewDetach(env, ownerRef_.Value(), owner_, "socket filter", [fd, ino] {
    uint64_t now = 0;
    if (SocketInode(fd, &now) < 0 || now != ino) return;
    int unused = 0;
    setsockopt(fd, SOL_SOCKET, SO_DETACH_BPF, &unused, sizeof(unused));  // ENOENT: already detached
  });
}

// BPF_PROG_TEST_RUN. Inputs are copied into C++ buffers on the JS thread, so the async
// variant never touches JS memory off-thread, and a syscall program's in-place ctx
// write-back lands in our copy.
struct TestRunJob {
  std::vector<uint8_t> data, dataOut, ctx, ctxOut;
  bool hasData = false, hasCtx = false;
  int repeat = 0;
  uint32_t flags = 0, cpu = 0, batchSize = 0;
  // Results
  int err = 0;
  uint32_t retval = 0, duration = 0, dataSizeOut = 0, ctxSizeOut = 0;
  std::vector<LogLine> lines;

  // run(options) with options: { data?, dataSizeOut, ctx?, ctxSizeOut, repeat, flags, cpu, batchSize }
  explicit TestRunJob(const Napi::Object& o) {
    auto bytes = [&](const char* key, std::vector<uint8_t>& out) {
      Napi::Value v = o.Get(key);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return false;
      Napi::Uint8Array a = v.As<Napi::Uint8Array>();
      out.assign(a.Data(), a.Data() + a.ElementLength());
      return true;
    };
    auto u32 = [&](const char* key) { return o.Get(key).IsNumber() ? o.Get(key).As<Napi::Number>().Uint32Value() : 0u; };
    hasData = bytes("data", data);
    hasCtx = bytes("ctx", ctx);
    dataOut.resize(u32("dataSizeOut"));
    ctxOut.resize(u32("ctxSizeOut"));
    repeat = static_cast<int>(u32("repeat"));
    flags = u32("flags");
    cpu = u32("cpu");
    batchSize = u32("batchSize");
  }

  void Run(int progFd) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = repeat, .flags = flags, .cpu = cpu, .batch_size = batchSize);
    if (hasData) {
      opts.data_in = data.data();
      opts.data_size_in = data.size();
    }
    if (!dataOut.empty()) {
      opts.data_out = dataOut.data();
      opts.data_size_out = dataOut.size();
    }
    if (hasCtx) {
      opts.ctx_in = ctx.data();
      opts.ctx_size_in = ctx.size();
    }
    if (!ctxOut.empty()) {
      opts.ctx_out = ctxOut.data();
      opts.ctx_size_out = ctxOut.size();
    }
    LogCapture log;
    err = bpf_prog_test_run_opts(progFd, &opts);
    lines = std::move(log.lines);
    retval = opts.retval;
    duration = opts.duration;
    dataSizeOut = opts.data_size_out;
    ctxSizeOut = opts.ctx_size_out;
  }

  // { retval, duration, data?, ctx?, ctxIn?, dataSizeOut } or, for ENOSPC (an output
  // buffer too small), { enospc: true, dataSizeOut, ctxSizeOut }: TypeScript explains.
  Napi::Value Result(Napi::Env env) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("dataSizeOut", dataSizeOut);
    out.Set("ctxSizeOut", ctxSizeOut);
    if (err == -ENOSPC) {
      out.Set("enospc", true);
      return out;
    }
    if (err < 0) throw MakeBpfError(env, -err, "bpf_prog_test_run_opts", lines);
    out.Set("retval", retval);
    out.Set("duration", duration);
    if (!dataOut.empty()) {
      out.Set("data", Napi::Buffer<uint8_t>::Copy(env, dataOut.data(), std::min<size_t>(dataSizeOut, dataOut.size())));
    }
    if (!ctxOut.empty()) {
      out.Set("ctx", Napi::Buffer<uint8_t>::Copy(env, ctxOut.data(), std::min<size_t>(ctxSizeOut, ctxOut.size())));
    }
    if (hasCtx) out.Set("ctxIn", Napi::Buffer<uint8_t>::Copy(env, ctx.data(), ctx.size()));
    return out;
  }
};

Napi::Value ProgramHandle::TestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int progFd = bpf_program__fd(Loaded(env));
  if (!info[0].IsObject()) throw TypeError(env, "options must be an object");
  TestRunJob job(info[0].As<Napi::Object>());
  job.Run(progFd);
  DeliverLog(env, job.lines);
  return job.Result(env);
}

class TestRunWorker : public Napi::AsyncWorker {
 public:
  TestRunWorker(Napi::Env env, int progFd, const Napi::Object& options)
      : Napi::AsyncWorker(env, "node-libbpf:testRun"), job_(options), deferred_(Napi::Promise::Deferred::New(env)) {
    // Our own fd: closing the object while the kernel runs the program cannot free or
    // reuse the one we pass.
    progFd_ = fcntl(progFd, F_DUPFD_CLOEXEC, 3);
  }
  ~TestRunWorker() override {
    if (progFd_ >= 0) close(progFd_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (progFd_ < 0) {
      job_.err = -EBADF;
      return;
    }
    job_.Run(progFd_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    DeliverLog(env, job_.lines);
    try {
      deferred_.Resolve(job_.Result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  TestRunJob job_;
  Napi::Promise::Deferred deferred_;
  int progFd_ = -1;
};

Napi::Value ProgramHandle::TestRunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int progFd = bpf_program__fd(Loaded(env));
  if (!info[0].IsObject()) throw TypeError(env, "options must be an object");
  auto* worker = new TestRunWorker(env, progFd, info[0].As<Napi::Object>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace nlb
