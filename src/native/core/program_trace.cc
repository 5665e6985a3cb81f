// ProgramHandle's tracing, user-space and sampling attach kinds: BTF attach targets
// (fentry/fexit/fmod_ret/lsm/tp_btf placeholders), kprobes, kprobe.multi, ksyscall,
// uprobes, uprobe.multi, USDT, and perf events opened here with perf_event_open(2).
// Arguments arrive validated by src/ts/attach-trace.ts; only memory safety is checked.
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/object.h"
#include "core/program.h"

namespace nlb {

namespace {

uint64_t U64Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info[i].IsBigInt()) {
    bool lossless = true;
    return info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (info[i].IsNumber()) return static_cast<uint64_t>(info[i].As<Napi::Number>().Int64Value());
  throw TypeError(info.Env(), std::string(what) + " must be a bigint or a number");
}

int IntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsNumber()) throw TypeError(info.Env(), std::string(what) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

std::string OptionalString(const Napi::CallbackInfo& info, size_t i, const char* what, bool* present) {
  *present = info[i].IsString();
  return *present ? StringArg(info, i, what) : std::string();
}

// A JS array of strings, kept alive as std::strings plus the char* view libbpf takes.
struct StringList {
  std::vector<std::string> values;
  std::vector<const char*> ptrs;
};

bool StringListArg(const Napi::CallbackInfo& info, size_t i, const char* what, StringList* out) {
  if (!info[i].IsArray()) return false;
  Napi::Array a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) throw TypeError(info.Env(), std::string(what) + " must hold strings");
    out->values.push_back(v.As<Napi::String>().Utf8Value());
  }
  for (const auto& s : out->values) out->ptrs.push_back(s.c_str());
  return true;
}

template <class T>
bool NumberListArg(const Napi::CallbackInfo& info, size_t i, const char* what, std::vector<T>* out) {
  if (!info[i].IsArray()) return false;
  Napi::Array a = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (v.IsBigInt()) {
      bool lossless = true;
      out->push_back(static_cast<T>(v.As<Napi::BigInt>().Uint64Value(&lossless)));
    } else if (v.IsNumber()) {
      out->push_back(static_cast<T>(v.As<Napi::Number>().Int64Value()));
    } else {
      throw TypeError(info.Env(), std::string(what) + " must hold numbers or bigints");
    }
  }
  return true;
}

}  // namespace

// fentry/fexit/fmod_ret/lsm/tp_btf/freplace programs shipped with a placeholder target:
// the kernel function (prog fd 0) or a function of a loaded BPF program (its fd).
Napi::Value ProgramHandle::SetAttachTarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  owner_->RequireNotLoaded(env);
  int progFd = IntArg(info, 0, "program fd");
  bool hasFunc = false;
  std::string func = OptionalString(info, 1, "func", &hasFunc);
  LogCapture log;
  Check(env, bpf_program__set_attach_target(prog_, progFd, hasFunc ? func.c_str() : nullptr),
        "bpf_program__set_attach_target", log);
  return env.Undefined();
}

Napi::Value ProgramHandle::AttachKprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string func = StringArg(info, 0, "func");
  LIBBPF_OPTS(bpf_kprobe_opts, opts);
  opts.retprobe = info[1].ToBoolean();
  opts.offset = static_cast<size_t>(U64Arg(info, 2, "offset"));
  opts.bpf_cookie = U64Arg(info, 3, "cookie");
  return Attached(env, "bpf_program__attach_kprobe_opts", [&] { return bpf_program__attach_kprobe_opts(prog_, func.c_str(), &opts); });
}

Napi::Value ProgramHandle::AttachKprobeMulti(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  bool hasPattern = false;
  std::string pattern = OptionalString(info, 0, "pattern", &hasPattern);
  StringList funcs;
  std::vector<uint64_t> cookies;
  LIBBPF_OPTS(bpf_kprobe_multi_opts, opts);
  if (StringListArg(info, 1, "funcs", &funcs)) {
    opts.syms = funcs.ptrs.data();
    opts.cnt = funcs.ptrs.size();
  }
  if (NumberListArg(info, 2, "cookies", &cookies)) {
    if (cookies.size() != opts.cnt) throw RangeError(env, "cookies must have one entry per function");
    opts.cookies = reinterpret_cast<const __u64*>(cookies.data());
  }
  opts.retprobe = info[3].ToBoolean();
  return Attached(env, "bpf_program__attach_kprobe_multi_opts", [&] { return bpf_program__attach_kprobe_multi_opts(prog_, hasPattern ? pattern.c_str() : nullptr, &opts); });
}

Napi::Value ProgramHandle::AttachKsyscall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string name = StringArg(info, 0, "name");
  LIBBPF_OPTS(bpf_ksyscall_opts, opts);
  opts.retprobe = info[1].ToBoolean();
  opts.bpf_cookie = U64Arg(info, 2, "cookie");
  return Attached(env, "bpf_program__attach_ksyscall", [&] { return bpf_program__attach_ksyscall(prog_, name.c_str(), &opts); });
}

// pid -1: every process. The binary path is already resolved (attach-trace.ts).
Napi::Value ProgramHandle::AttachUprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string binary = StringArg(info, 0, "binary");
  bool hasFunc = false;
  std::string func = OptionalString(info, 1, "func", &hasFunc);
  size_t offset = static_cast<size_t>(U64Arg(info, 2, "offset"));
  int pid = IntArg(info, 3, "pid");
  LIBBPF_OPTS(bpf_uprobe_opts, opts);
  opts.retprobe = info[4].ToBoolean();
  opts.bpf_cookie = U64Arg(info, 5, "cookie");
  opts.func_name = hasFunc ? func.c_str() : nullptr;
  return Attached(env, "bpf_program__attach_uprobe_opts", [&] { return bpf_program__attach_uprobe_opts(prog_, pid, binary.c_str(), offset, &opts); });
}

Napi::Value ProgramHandle::AttachUprobeMulti(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string binary = StringArg(info, 0, "binary");
  bool hasPattern = false;
  std::string pattern = OptionalString(info, 1, "pattern", &hasPattern);
  StringList funcs;
  std::vector<unsigned long> offsets;
  std::vector<uint64_t> cookies;
  LIBBPF_OPTS(bpf_uprobe_multi_opts, opts);
  if (StringListArg(info, 2, "funcs", &funcs)) {
    opts.syms = funcs.ptrs.data();
    opts.cnt = funcs.ptrs.size();
  }
  if (NumberListArg(info, 3, "offsets", &offsets)) {
    opts.offsets = offsets.data();
    opts.cnt = offsets.size();
  }
  if (NumberListArg(info, 4, "cookies", &cookies)) {
    if (cookies.size() != opts.cnt) throw RangeError(env, "cookies must have one entry per function or offset");
    opts.cookies = reinterpret_cast<const __u64*>(cookies.data());
  }
  int pid = IntArg(info, 5, "pid");
  opts.retprobe = info[6].ToBoolean();
  return Attached(env, "bpf_program__attach_uprobe_multi", [&] { return bpf_program__attach_uprobe_multi(prog_, pid, binary.c_str(), hasPattern ? pattern.c_str() : nullptr, &opts); });
}

Napi::Value ProgramHandle::AttachUsdt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string binary = StringArg(info, 0, "binary");
  std::string provider = StringArg(info, 1, "provider");
  std::string name = StringArg(info, 2, "name");
  int pid = IntArg(info, 3, "pid");
  LIBBPF_OPTS(bpf_usdt_opts, opts);
  opts.usdt_cookie = U64Arg(info, 4, "cookie");
  return Attached(env, "bpf_program__attach_usdt", [&] { return bpf_program__attach_usdt(prog_, pid, binary.c_str(), provider.c_str(), name.c_str(), &opts); });
}

// One perf event (type, config; a frequency in Hz or a period in events) on one CPU
// (-1: any) for one process (-1: all), opened here and handed to libbpf, whose link
// closes the perf event's fd when it is destroyed.
Napi::Value ProgramHandle::AttachPerfEvent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  perf_event_attr attr = {};
  attr.size = sizeof(attr);
  attr.type = static_cast<uint32_t>(IntArg(info, 0, "type"));
  attr.config = U64Arg(info, 1, "config");
  attr.freq = info[2].ToBoolean();
  if (attr.freq) {
    attr.sample_freq = U64Arg(info, 3, "sample");
  } else {
    attr.sample_period = U64Arg(info, 3, "sample");
  }
  int cpu = IntArg(info, 4, "cpu");
  int pid = IntArg(info, 5, "pid");
  LIBBPF_OPTS(bpf_perf_event_opts, opts);
  opts.bpf_cookie = U64Arg(info, 6, "cookie");
  LogCapture log;
  int pfd = CheckSys(env, syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC), "perf_event_open", log);
  int err = 0;
  bpf_link* link = CallPtr([&] { return bpf_program__attach_perf_event_opts(prog_, pfd, &opts); }, err);
  if (!link) {
    close(pfd);  // the link owns it only once made
    Check(env, -err, "bpf_program__attach_perf_event_opts", log);
  }
  return Wrap(env, link);
}

}  // namespace nlb
