#include "probe/probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/perf_event.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/errors.h"
#include "base/wrap.h"

// libbpf's ELF symbol lookup (libbpf_internal.h): a function's file offset, or -errno.
extern "C" long elf_find_func_offset_from_file(const char* binary_path, const char* name);

namespace nlb {

namespace {

// Closes its fd on scope exit: a probe leaves nothing behind, whatever step fails.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

uint32_t U32(const Napi::Object& o, const char* key, uint32_t fallback = 0) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

std::string Str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

int LoadProgram(Napi::Env env, const Napi::Object& r, const LogCapture& log) {
  // r0 = retval; exit
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].imm = static_cast<int32_t>(r.Get("retval").IsNumber() ? r.Get("retval").As<Napi::Number>().Int32Value() : 0);
  insns[1].code = BPF_JMP | BPF_EXIT;
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = static_cast<bpf_attach_type>(U32(r, "expectedAttachType"));
  opts.attach_btf_id = U32(r, "attachBtfId");
  opts.prog_flags = U32(r, "progFlags");
  auto type = static_cast<bpf_prog_type>(U32(r, "progType"));
  return Check(env, bpf_prog_load(type, "nlb_probe", "GPL", insns, 2, &opts), "bpf_prog_load", log);
}

int PerfEvent(Napi::Env env, const Napi::Object& perf, const std::string& name, uint64_t offset, const LogCapture& log) {
  struct perf_event_attr attr = {};
  attr.size = sizeof attr;
  attr.type = U32(perf, "type");
  attr.config = U32(perf, "config");
  attr.sample_period = 1000000;
  if (!name.empty()) {
    attr.config1 = reinterpret_cast<uint64_t>(name.c_str());
    attr.config2 = offset;
  }
  // A uprobe watches this process only; other events one CPU, every process.
  bool uprobe = offset != 0;
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, uprobe ? getpid() : -1, uprobe ? -1 : 0, -1, PERF_FLAG_FD_CLOEXEC));
  return CheckSys(env, fd, "perf_event_open", log);
}

// The attach step of a recipe; every fd it opens closes when the probe returns.
void Attach(Napi::Env env, const Napi::Object& r, int prog, std::vector<int>& fds, const LogCapture& log) {
  std::string how = Str(r, "attach");
  auto attachType = static_cast<bpf_attach_type>(U32(r, "linkAttachType"));
  if (how == "none") return;
  if (how == "raw_tp") {
    std::string tp = Str(r, "rawTp");
    fds.push_back(Check(env, bpf_raw_tracepoint_open(tp.empty() ? nullptr : tp.c_str(), prog), "bpf_raw_tracepoint_open", log));
    return;
  }
  if (how == "socket") {
    int sock = CheckSys(env, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", log);
    fds.push_back(sock);
    CheckSys(env, setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog), "setsockopt(SO_ATTACH_BPF)", log);
    return;
  }
  if (how == "test_run") {
    LIBBPF_OPTS(bpf_test_run_opts, run);
    Check(env, bpf_prog_test_run_opts(prog, &run), "bpf_prog_test_run_opts", log);
    return;
  }
  std::string binary = Str(r, "binary");
  std::string func = Str(r, "func");
  long offset = 0;
  if (!binary.empty()) offset = Check(env, static_cast<int>(elf_find_func_offset_from_file(binary.c_str(), func.c_str())), "elf_find_func_offset", log);
  int target = static_cast<int>(U32(r, "ifindex"));
  std::string targetPath = Str(r, "targetPath");
  if (!targetPath.empty()) {
    target = CheckSys(env, open(targetPath.c_str(), O_RDONLY | O_CLOEXEC), "open", log);
    fds.push_back(target);
  }
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  const char* sym = func.c_str();
  unsigned long uoffset = static_cast<unsigned long>(offset);
  if (how == "perf") {
    Napi::Object perf = r.Get("perf").As<Napi::Object>();
    std::string name = binary.empty() ? func : binary;
    target = PerfEvent(env, perf, name, binary.empty() ? 0 : offset, log);
    fds.push_back(target);
  } else if (how == "kprobe_multi") {
    opts.kprobe_multi.syms = &sym;
    opts.kprobe_multi.cnt = 1;
  } else if (how == "uprobe_multi") {
    opts.uprobe_multi.path = binary.c_str();
    opts.uprobe_multi.offsets = &uoffset;
    opts.uprobe_multi.cnt = 1;
    opts.uprobe_multi.pid = getpid();
  } else if (how == "netfilter") {
    opts.netfilter.pf = U32(r, "pf");
    opts.netfilter.hooknum = U32(r, "hooknum");
    opts.netfilter.priority = static_cast<int32_t>(U32(r, "priority"));
  }
  fds.push_back(Check(env, bpf_link_create(prog, target, attachType, &opts), "bpf_link_create", log));
}

template <class E>
E Enum(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw TypeError(info.Env(), std::string(what) + " must be a number");
  return static_cast<E>(info[i].As<Napi::Number>().Uint32Value());
}

}  // namespace

// libbpf's probes answer 1 or 0; on 0 the errno of the kernel's refusal is still set (its
// cleanup only closes fds it got). Returns 1, or minus that errno (0 when none): a caller
// tells "this kernel lacks it" from "this process may not" (EPERM) by it.
// libbpf_probe_bpf_helper answers 1 ("assume supported") when the load failed without a
// verifier log naming the helper, as an EPERM does: `refusedOnly` reports that refusal.
// (EACCES is the verifier's own "rejected", not a permission.)
static Napi::Value ProbeAnswer(Napi::Env env, int ret, const char* call, const LogCapture& log, bool refusedOnly = false) {
  int err = errno;
  bool refused = err == EPERM;
  if (Check(env, ret, call, log) == 1 && !(refusedOnly && refused)) return Napi::Number::New(env, 1);
  return Napi::Number::New(env, -err);
}

Napi::Value ProbeProgramType(const Napi::CallbackInfo& info) {
  LogCapture log;
  auto type = Enum<bpf_prog_type>(info, 0, "type");
  errno = 0;
  int ret = libbpf_probe_bpf_prog_type(type, nullptr);
  return ProbeAnswer(info.Env(), ret, "libbpf_probe_bpf_prog_type", log);
}

Napi::Value ProbeMapType(const Napi::CallbackInfo& info) {
  LogCapture log;
  auto type = Enum<bpf_map_type>(info, 0, "type");
  errno = 0;
  int ret = libbpf_probe_bpf_map_type(type, nullptr);
  return ProbeAnswer(info.Env(), ret, "libbpf_probe_bpf_map_type", log);
}

Napi::Value ProbeHelper(const Napi::CallbackInfo& info) {
  LogCapture log;
  auto type = Enum<bpf_prog_type>(info, 0, "program type");
  auto helper = Enum<bpf_func_id>(info, 1, "helper");
  errno = 0;
  int ret = libbpf_probe_bpf_helper(type, helper, nullptr);
  return ProbeAnswer(info.Env(), ret, "libbpf_probe_bpf_helper", log, true);
}

namespace {

// This thread in a fresh network namespace until destruction, when it returns to its
// own: network probes attach to that namespace's loopback and never touch the host's.
class PrivateNetns {
 public:
  PrivateNetns(Napi::Env env, const LogCapture& log) {
    home_.reset(CheckSys(env, open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), "open(/proc/thread-self/ns/net)", log));
    CheckSys(env, unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)", log);
  }
  ~PrivateNetns() {
    if (setns(home_.get(), CLONE_NEWNET) != 0) abort();  // never leave the JS thread in the probe's namespace
  }

 private:
  Fd home_;
};

}  // namespace

Napi::Value ProbeAttach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw TypeError(env, "recipe must be an object");
  Napi::Object recipe = info[0].As<Napi::Object>();
  LogCapture log;
  Fd prog(LoadProgram(env, recipe, log));
  std::vector<int> fds;
  {
    std::unique_ptr<PrivateNetns> netns;
    try {
      if (recipe.Get("netns").ToBoolean()) netns = std::make_unique<PrivateNetns>(env, log);
      Attach(env, recipe, prog.get(), fds, log);
    } catch (...) {
      for (int fd : fds) close(fd);
      throw;
    }
    for (int fd : fds) close(fd);
  }
  return env.Undefined();
}

Napi::Value HelperNames(const Napi::CallbackInfo& info) {
#define NLB_HELPER_NAME(name, id, ...) #name,
  static const char* const names[] = {___BPF_FUNC_MAPPER(NLB_HELPER_NAME)};
#undef NLB_HELPER_NAME
  Napi::Array out = Napi::Array::New(info.Env());
  for (uint32_t i = 0; i < sizeof names / sizeof names[0]; i++) out.Set(i, names[i]);
  return out;
}

Napi::Value AttachTypes(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  for (uint32_t i = 0; i < 256; i++) {
    const char* s = libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(i));
    if (!s) break;
    out.Set(i, s);
  }
  return out;
}

}  // namespace nlb
