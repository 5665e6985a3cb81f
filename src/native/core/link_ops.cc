// LinkHandle, continued: opening a pinned link, swapping a live link's program, and
// decoding the kernel's bpf_link_info for every link type libbpf 1.7.0's headers know.
// Declared in link.h.
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "base/addon.h"
#include "base/errors.h"
#include "base/wrap.h"
#include "core/link.h"
#include "core/object.h"

namespace nlb {

// What kind of BPF object an fd is, from its anon inode's name: "bpf_link",
// "bpf-map", "bpf-prog", ... (get_info_by_fd answers for all of them alike).
static std::string FdKind(int fd) {
  char target[64] = {};
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  if (readlink(proc.c_str(), target, sizeof target - 1) < 0) return "unknown";
  std::string s(target);
  return s.rfind("anon_inode:", 0) == 0 ? s.substr(11) : s;
}

// fromPinned(path): the link pinned at `path`, owned by nobody but this wrapper (not
// held: the pin keeps the attachment; destroy() closes our fd only).
Napi::Value LinkHandle::FromPinned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  LogCapture log;
  bpf_link* link = CheckPtr(env, "bpf_link__open", log, [&] { return bpf_link__open(path.c_str()); });
  std::string kind = FdKind(bpf_link__fd(link));
  if (kind != "bpf-link") {
    bpf_link__destroy(link);  // closes the fd of whatever it was
    throw MakeBpfError(env, EINVAL, "bpf_link__open", {{0, "'" + path + "' is a pinned " + kind + ", not a link"}});
  }
  ConstructToken token;
  return Addon::Of(env)->linkCtor.New({env.Undefined(), Napi::External<bpf_link>::New(env, link)});
}

// update(programFd): atomically replace the link's program (BPF_LINK_UPDATE), what
// bpf_link__update_program does with the program's fd.
Napi::Value LinkHandle::Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = KernelFd(env, "bpf_link__update_program");
  LogCapture log;
  Check(env, bpf_link_update(fd, info[0].As<Napi::Number>().Int32Value(), nullptr), "bpf_link__update_program", log);
  return env.Undefined();
}

Napi::Value LinkHandle::MoveTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Get(env);
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&ObjectHandle::kTypeTag)) {
    throw TypeError(env, "object must be a NativeObject");
  }
  ObjectHandle* to = ObjectHandle::Unwrap(info[0].As<Napi::Object>());
  to->RequireLoaded(env);
  if (owner_) owner_->RemoveLink(this);
  owner_ = to;
  to->AddLink(this);
  ownerRef_ = Napi::Persistent(info[0].As<Napi::Object>());
  return env.Undefined();
}

static Napi::Value U64(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

static Napi::Value AttachType(Napi::Env env, uint32_t t) {
  const char* s = libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(t));
  return s ? Napi::String::New(env, s) : Napi::Number::New(env, t).As<Napi::Value>();
}

static std::string Str(const std::vector<char>& buf) { return std::string(buf.data(), strnlen(buf.data(), buf.size())); }

// The union's strings need a buffer passed in: a first call says the type (and for most
// types the length), a second fills the buffers. Every member sits at the same offset
// in the perf_event variants, so one buffer serves uprobe, kprobe and tracepoint.
Napi::Value LinkHandle::Info(const Napi::CallbackInfo& info) {
  return InfoFd(info.Env(), KernelFd(info.Env(), "bpf_link_get_info_by_fd"));
}

Napi::Value LinkHandle::InfoFd(Napi::Env env, int fd) {
  LogCapture log;
  bpf_link_info li;
  uint32_t len = sizeof li;
  memset(&li, 0, sizeof li);
  Check(env, bpf_link_get_info_by_fd(fd, &li, &len), "bpf_link_get_info_by_fd", log);

  std::vector<char> name(4096, 0);
  uint32_t type = li.type;
  uint32_t perfType = li.perf_event.type;
  memset(&li, 0, sizeof li);
  switch (type) {
    case BPF_LINK_TYPE_RAW_TRACEPOINT:
      li.raw_tracepoint.tp_name = reinterpret_cast<uintptr_t>(name.data());
      li.raw_tracepoint.tp_name_len = name.size();
      break;
    case BPF_LINK_TYPE_ITER:
      li.iter.target_name = reinterpret_cast<uintptr_t>(name.data());
      li.iter.target_name_len = name.size();
      break;
    case BPF_LINK_TYPE_UPROBE_MULTI:
      li.uprobe_multi.path = reinterpret_cast<uintptr_t>(name.data());
      li.uprobe_multi.path_size = name.size();
      break;
    case BPF_LINK_TYPE_PERF_EVENT:
      if (perfType != BPF_PERF_EVENT_EVENT) {
        li.perf_event.uprobe.file_name = reinterpret_cast<uintptr_t>(name.data());
        li.perf_event.uprobe.name_len = name.size();
      }
      break;
  }
  len = sizeof li;
  Check(env, bpf_link_get_info_by_fd(fd, &li, &len), "bpf_link_get_info_by_fd", log);

  Napi::Object out = Napi::Object::New(env);
  const char* typeName = libbpf_bpf_link_type_str(static_cast<bpf_link_type>(li.type));
  out.Set("type", typeName ? typeName : "unknown");
  out.Set("id", li.id);
  out.Set("programId", li.prog_id);
  switch (li.type) {
    case BPF_LINK_TYPE_RAW_TRACEPOINT:
      out.Set("tracepoint", Str(name));
      out.Set("cookie", U64(env, li.raw_tracepoint.cookie));
      break;
    case BPF_LINK_TYPE_TRACING:
      out.Set("attachType", AttachType(env, li.tracing.attach_type));
      out.Set("targetObjId", li.tracing.target_obj_id);
      out.Set("targetBtfId", li.tracing.target_btf_id);
      out.Set("cookie", U64(env, li.tracing.cookie));
      break;
    case BPF_LINK_TYPE_CGROUP:
      out.Set("cgroupId", U64(env, li.cgroup.cgroup_id));
      out.Set("attachType", AttachType(env, li.cgroup.attach_type));
      break;
    case BPF_LINK_TYPE_ITER: {
      std::string target = Str(name);
      out.Set("target", target);
      // Which union member the kernel filled depends on the target.
      if (li.iter.map.map_id) out.Set("mapId", li.iter.map.map_id);
      if (target == "cgroup") {
        out.Set("cgroupId", U64(env, li.iter.cgroup.cgroup_id));
        out.Set("order", li.iter.cgroup.order);
      } else if (target == "task" || target == "task_file" || target == "task_vma") {
        out.Set("tid", li.iter.task.tid);
        out.Set("pid", li.iter.task.pid);
      }
      break;
    }
    case BPF_LINK_TYPE_NETNS:
      out.Set("netnsIno", li.netns.netns_ino);
      out.Set("attachType", AttachType(env, li.netns.attach_type));
      break;
    case BPF_LINK_TYPE_XDP:
      out.Set("ifindex", li.xdp.ifindex);
      break;
    case BPF_LINK_TYPE_STRUCT_OPS:
      out.Set("mapId", li.struct_ops.map_id);
      break;
    case BPF_LINK_TYPE_NETFILTER:
      out.Set("pf", li.netfilter.pf);
      out.Set("hook", li.netfilter.hooknum);
      out.Set("priority", li.netfilter.priority);
      out.Set("flags", li.netfilter.flags);
      break;
    case BPF_LINK_TYPE_KPROBE_MULTI:
      out.Set("count", li.kprobe_multi.count);
      out.Set("flags", li.kprobe_multi.flags);
      out.Set("missed", U64(env, li.kprobe_multi.missed));
      break;
    case BPF_LINK_TYPE_UPROBE_MULTI:
      out.Set("path", Str(name));
      out.Set("count", li.uprobe_multi.count);
      out.Set("flags", li.uprobe_multi.flags);
      out.Set("pid", li.uprobe_multi.pid);
      break;
    case BPF_LINK_TYPE_PERF_EVENT: {
      auto& pe = li.perf_event;
      out.Set("perfEventType", pe.type);
      switch (pe.type) {
        case BPF_PERF_EVENT_UPROBE:
        case BPF_PERF_EVENT_URETPROBE:
          out.Set("path", Str(name));
          out.Set("offset", pe.uprobe.offset);
          out.Set("cookie", U64(env, pe.uprobe.cookie));
          out.Set("refCtrOffset", U64(env, pe.uprobe.ref_ctr_offset));
          break;
        case BPF_PERF_EVENT_KPROBE:
        case BPF_PERF_EVENT_KRETPROBE:
          out.Set("func", Str(name));
          out.Set("offset", pe.kprobe.offset);
          out.Set("addr", U64(env, pe.kprobe.addr));
          out.Set("missed", U64(env, pe.kprobe.missed));
          out.Set("cookie", U64(env, pe.kprobe.cookie));
          break;
        case BPF_PERF_EVENT_TRACEPOINT:
          out.Set("tracepoint", Str(name));
          out.Set("cookie", U64(env, pe.tracepoint.cookie));
          break;
        case BPF_PERF_EVENT_EVENT:
          out.Set("eventType", pe.event.type);
          out.Set("config", U64(env, pe.event.config));
          out.Set("cookie", U64(env, pe.event.cookie));
          break;
      }
      break;
    }
    case BPF_LINK_TYPE_TCX:
      out.Set("ifindex", li.tcx.ifindex);
      out.Set("attachType", AttachType(env, li.tcx.attach_type));
      break;
    case BPF_LINK_TYPE_NETKIT:
      out.Set("ifindex", li.netkit.ifindex);
      out.Set("attachType", AttachType(env, li.netkit.attach_type));
      break;
    case BPF_LINK_TYPE_SOCKMAP:
      out.Set("mapId", li.sockmap.map_id);
      out.Set("attachType", AttachType(env, li.sockmap.attach_type));
      break;
  }
  return out;
}

}  // namespace nlb
