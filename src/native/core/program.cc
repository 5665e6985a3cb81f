#include "core/program.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/link.h"
#include "core/object.h"

namespace nlb {

const napi_type_tag ProgramHandle::kTypeTag = {0x6e6c627070726f67ULL, 0x2b7d0c9a4e8f1136ULL};

Napi::Function ProgramHandle::Init(Napi::Env env, Addon* addon) {
  using P = ProgramHandle;
  std::vector<Napi::PropertyDescriptor> methods = {
      Method<P, &P::Name>(env, "name"),
      Method<P, &P::SectionName>(env, "sectionName"),
      Method<P, &P::Type>(env, "type"),
      Method<P, &P::ExpectedAttachType>(env, "expectedAttachType"),
      Method<P, &P::Autoload>(env, "autoload"),
      Method<P, &P::SetAutoload>(env, "setAutoload"),
      Method<P, &P::Autoattach>(env, "autoattach"),
      Method<P, &P::SetAutoattach>(env, "setAutoattach"),
      Method<P, &P::InsnCount>(env, "insnCount"),
      Method<P, &P::Fd>(env, "fd"),
      Method<P, &P::Attach>(env, "attach"),
      Method<P, &P::AttachTracepoint>(env, "attachTracepoint"),
      Method<P, &P::AttachRawTracepoint>(env, "attachRawTracepoint"),
      Method<P, &P::Pin>(env, "pin"),
      Method<P, &P::Unpin>(env, "unpin"),
      // iterators and introspection (program_iter.cc)
      Method<P, &P::AttachIter>(env, "attachIter"),
      Method<P, &P::Info>(env, "info"),
      // tracing, user-space and sampling (program_trace.cc)
      Method<P, &P::SetAttachTarget>(env, "setAttachTarget"),
      Method<P, &P::AttachKprobe>(env, "attachKprobe"),
      Method<P, &P::AttachKprobeMulti>(env, "attachKprobeMulti"),
      Method<P, &P::AttachKsyscall>(env, "attachKsyscall"),
      Method<P, &P::AttachUprobe>(env, "attachUprobe"),
      Method<P, &P::AttachUprobeMulti>(env, "attachUprobeMulti"),
      Method<P, &P::AttachUsdt>(env, "attachUsdt"),
      Method<P, &P::AttachPerfEvent>(env, "attachPerfEvent"),
  };
  std::vector<Napi::ClassPropertyDescriptor<P>> statics = {
      P::StaticMethod("enableStats", &P::EnableStats),  // program_iter.cc
      P::StaticMethod("lineInfoByTag", &P::LineInfoByTag),  // program_iter.cc
  };
  InitNet(env, methods, statics);  // program_net.cc
  Napi::Function ctor = DefineCheckedClass<P>(env, statics, methods);
  addon->programCtor = Napi::Persistent(ctor);
  return ctor;
}

Napi::Object ProgramHandle::New(Napi::Env env, Napi::Object owner, bpf_program* prog) {
  ConstructToken token;
  return Addon::Of(env)->programCtor.New({owner, Napi::External<bpf_program>::New(env, prog)});
}

ProgramHandle::ProgramHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProgramHandle>(info) {
  ConstructToken::Require(info.Env(), kClassName);
  info.This().As<Napi::Object>().TypeTag(&kTypeTag);
  ownerRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  owner_ = ObjectHandle::Unwrap(info[0].As<Napi::Object>());
  prog_ = info[1].As<Napi::External<bpf_program>>().Data();
}

bpf_program* ProgramHandle::Get(Napi::Env env) const {
  owner_->Get(env);
  return prog_;
}

Napi::Value ProgramHandle::Name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), bpf_program__name(Get(info.Env())));
}

Napi::Value ProgramHandle::SectionName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), bpf_program__section_name(Get(info.Env())));
}

Napi::Value ProgramHandle::Type(const Napi::CallbackInfo& info) {
  const char* s = libbpf_bpf_prog_type_str(bpf_program__type(Get(info.Env())));
  return Napi::String::New(info.Env(), s ? s : "unknown");
}

// 0 means "none" for most program types, but it is also BPF_CGROUP_INET_INGRESS.
Napi::Value ProgramHandle::ExpectedAttachType(const Napi::CallbackInfo& info) {
  bpf_program* prog = Get(info.Env());
  enum bpf_attach_type type = bpf_program__expected_attach_type(prog);
  if (type == 0 && bpf_program__type(prog) != BPF_PROG_TYPE_CGROUP_SKB) return info.Env().Null();
  const char* s = libbpf_bpf_attach_type_str(type);
  return s ? Napi::String::New(info.Env(), s) : info.Env().Null();
}

Napi::Value ProgramHandle::Autoload(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), bpf_program__autoload(Get(info.Env())));
}

Napi::Value ProgramHandle::SetAutoload(const Napi::CallbackInfo& info) {
  owner_->RequireNotLoaded(info.Env());
  LogCapture log;
  Check(info.Env(), bpf_program__set_autoload(prog_, info[0].ToBoolean()), "bpf_program__set_autoload", log);
  return info.Env().Undefined();
}

Napi::Value ProgramHandle::Autoattach(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), bpf_program__autoattach(Get(info.Env())));
}

Napi::Value ProgramHandle::SetAutoattach(const Napi::CallbackInfo& info) {
  bpf_program__set_autoattach(Get(info.Env()), info[0].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value ProgramHandle::InsnCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_program__insn_cnt(Get(info.Env())));
}


bpf_program* ProgramHandle::Loaded(Napi::Env env) const {
  owner_->RequireLoaded(env);
  if (bpf_program__fd(prog_) < 0) ThrowState(env, State::kProgramNotLoaded);
  return prog_;
}

Napi::Value ProgramHandle::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), bpf_program__fd(Loaded(info.Env())));
}

TargetFd::TargetFd(Napi::Env env, Napi::Value target, int flags, const char* what) {
  if (target.IsNumber()) {
    fd_ = target.As<Napi::Number>().Int32Value();
    return;
  }
  if (!target.IsString()) throw TypeError(env, "target must be a string");
  std::string path = target.As<Napi::String>().Utf8Value();
  fd_ = SysResult(open(path.c_str(), flags | O_CLOEXEC));
  if (fd_ < 0) {
    LogCapture log;
    std::string named = what ? std::string(what) + " '" + path + "'" : path;
    LogCapture::Append(0, "cannot open " + named + ": " + strerror(-fd_) + "\n");
    Check(env, fd_, "open", log);
  }
  owned_ = true;
}

TargetFd::~TargetFd() {
  if (owned_) close(fd_);
}

Napi::Value ProgramHandle::Wrap(Napi::Env env, bpf_link* link) {
  return LinkHandle::New(env, ownerRef_.Value(), owner_, link);
}

// Auto-attach from the section name. Returns null when the section names no target
// (e.g. plain SEC("raw_tp")), so the caller can tell "nothing to do" from a failure.
// libbpf answers EOPNOTSUPP for both: silently when there is no target, after a warning
// when the kernel refused the attach (kprobe.multi on a kernel without fprobe).
Napi::Value ProgramHandle::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  LogCapture log;
  int err = 0;
  bpf_link* link = CallPtr([&] { return bpf_program__attach(prog_); }, err);
  if (!link && err == EOPNOTSUPP) {
    bool warned = false;
    for (const LogLine& line : log.lines) warned = warned || line.level == LIBBPF_WARN;
    if (!warned) return env.Null();
  }
  if (!link) Check(env, -err, "bpf_program__attach", log);
  return Wrap(env, link);
}

Napi::Value ProgramHandle::AttachTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string category = StringArg(info, 0, "category"), name = StringArg(info, 1, "name");
  return Attached(env, "bpf_program__attach_tracepoint", [&] { return bpf_program__attach_tracepoint(prog_, category.c_str(), name.c_str()); });
}

Napi::Value ProgramHandle::AttachRawTracepoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  std::string name = StringArg(info, 0, "name");
  return Attached(env, "bpf_program__attach_raw_tracepoint", [&] { return bpf_program__attach_raw_tracepoint(prog_, name.c_str()); });
}

Napi::Value ProgramHandle::Pin(const Napi::CallbackInfo& info) {
  Loaded(info.Env());
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  Check(info.Env(), bpf_program__pin(prog_, path.c_str()), "bpf_program__pin", log);
  return info.Env().Undefined();
}

Napi::Value ProgramHandle::Unpin(const Napi::CallbackInfo& info) {
  Loaded(info.Env());
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  Check(info.Env(), bpf_program__unpin(prog_, path.c_str()), "bpf_program__unpin", log);
  return info.Env().Undefined();
}

}  // namespace nlb
