// ProgramHandle, continued: attaching iterator programs, the kernel's view of a loaded
// program (bpf_prog_info), and turning on run-time statistics. Declared in program.h.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/errors.h"
#include "base/wrap.h"
#include "core/link.h"
#include "core/program.h"

namespace nlb {

static uint32_t U32Field(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

// attachIter({ mapFd?, cgroupFd?, cgroupPath?, cgroupId?, order?, tid?, pid?, pidFd? }): TypeScript
// checked the options and that at most one union member (map, cgroup, task) is used.
Napi::Value ProgramHandle::AttachIter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Loaded(env);
  Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  std::optional<TargetFd> cgroup;  // a path is opened for the attach only
  union bpf_iter_link_info linfo;
  memset(&linfo, 0, sizeof linfo);
  bool any = false;
  if (o.Has("mapFd")) {
    linfo.map.map_fd = U32Field(o, "mapFd");
    any = true;
  } else if (o.Has("order")) {
    linfo.cgroup.order = static_cast<bpf_cgroup_iter_order>(U32Field(o, "order"));
    if (o.Has("cgroupPath") || o.Has("cgroupFd")) {  // else by id, or the root
      cgroup.emplace(env, o.Has("cgroupPath") ? o.Get("cgroupPath") : o.Get("cgroupFd"), O_RDONLY | O_DIRECTORY, "cgroup");
      linfo.cgroup.cgroup_fd = cgroup->fd();
    }
    Napi::Value id = o.Get("cgroupId");
    bool lossless;
    if (id.IsBigInt()) linfo.cgroup.cgroup_id = id.As<Napi::BigInt>().Uint64Value(&lossless);
    any = true;
  } else if (o.Has("tid") || o.Has("pid") || o.Has("pidFd")) {
    linfo.task.tid = U32Field(o, "tid");
    linfo.task.pid = U32Field(o, "pid");
    linfo.task.pid_fd = U32Field(o, "pidFd");
    any = true;
  }
  LIBBPF_OPTS(bpf_iter_attach_opts, opts);
  if (any) {
    opts.link_info = &linfo;
    opts.link_info_len = sizeof linfo;
  }
  return Attached(env, "bpf_program__attach_iter", [&] { return bpf_program__attach_iter(prog_, &opts); });
}

static Napi::Value U64(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }

// info() -> the kernel's bpf_prog_info, map ids included (a second call sized by the first).
Napi::Value ProgramHandle::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = bpf_program__fd(Loaded(env));
  bpf_prog_info pi;
  std::vector<uint32_t> mapIds;
  LogCapture log;
  for (;;) {
    memset(&pi, 0, sizeof pi);
    uint32_t len = sizeof pi;
    pi.nr_map_ids = static_cast<uint32_t>(mapIds.size());
    pi.map_ids = reinterpret_cast<uintptr_t>(mapIds.data());
    Check(env, bpf_prog_get_info_by_fd(fd, &pi, &len), "bpf_prog_get_info_by_fd", log);
    if (pi.nr_map_ids <= mapIds.size()) break;
    mapIds.resize(pi.nr_map_ids);  // maps were counted, not copied: ask again with room
  }
  mapIds.resize(pi.nr_map_ids);

  Napi::Object out = Napi::Object::New(env);
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
  const char* type = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(pi.type));
  out.Set("id", pi.id);
  out.Set("name", std::string(pi.name, strnlen(pi.name, sizeof pi.name)));
  out.Set("type", type ? type : "unknown");
  out.Set("tag", tag);
  out.Set("runCount", U64(env, pi.run_cnt));
  out.Set("runTimeNs", U64(env, pi.run_time_ns));
  out.Set("recursionMisses", U64(env, pi.recursion_misses));
  out.Set("verifiedInstructions", pi.verified_insns);
  out.Set("jitedSize", pi.jited_prog_len);
  out.Set("xlatedSize", pi.xlated_prog_len);
  Napi::Array ids = Napi::Array::New(env, mapIds.size());
  for (uint32_t i = 0; i < mapIds.size(); i++) ids.Set(i, mapIds[i]);
  out.Set("mapIds", ids);
  out.Set("btfId", pi.btf_id);
  out.Set("loadTime", U64(env, pi.load_time));
  out.Set("createdByUid", pi.created_by_uid);
  out.Set("gplCompatible", Napi::Boolean::New(env, pi.gpl_compatible));
  out.Set("ifindex", pi.ifindex);
  out.Set("netnsDev", U64(env, pi.netns_dev));
  out.Set("netnsIno", U64(env, pi.netns_ino));
  out.Set("attachBtfObjId", pi.attach_btf_obj_id);
  out.Set("attachBtfId", pi.attach_btf_id);
  out.Set("functionCount", pi.nr_func_info);
  return out;
}

// enableStats() -> a NativeLink owning the fd of BPF_ENABLE_STATS(BPF_STATS_RUN_TIME):
// statistics stay on (system-wide) until every such fd is closed, here by destroy().
Napi::Value ProgramHandle::EnableStats(const Napi::CallbackInfo& info) {
  LogCapture log;
  int fd = Check(info.Env(), bpf_enable_stats(BPF_STATS_RUN_TIME), "bpf_enable_stats", log);
  return LinkHandle::NewFd(info.Env(), info.Env().Undefined(), nullptr, fd);  // destroy() closes it: statistics off
}

// lineInfoByTag(tag) -> where a loaded program's JIT-ed code came from, for symbolizing
// BPF frames: { ksyms: BigUint64Array (each function's address), funcLens: number[],
// jitedLines: BigUint64Array, files: string[], lines: number[] } (one file and line per
// jitedLines address, from the program's BTF line info), or undefined when no loaded
// program has the tag or the kernel gives no line info (no BTF, or addresses hidden).
Napi::Value ProgramHandle::LineInfoByTag(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string want = info[0].As<Napi::String>().Utf8Value();
  for (uint32_t id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info pi;
    memset(&pi, 0, sizeof pi);
    uint32_t len = sizeof pi;
    char tag[2 * BPF_TAG_SIZE + 1] = "";
    if (bpf_prog_get_info_by_fd(fd, &pi, &len) == 0) {
      for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
    }
    if (want != tag || pi.nr_jited_line_info == 0 || pi.nr_line_info != pi.nr_jited_line_info || pi.btf_id == 0) {
      close(fd);
      if (want == tag) return env.Undefined();
      continue;
    }
    std::vector<uint64_t> ksyms(pi.nr_jited_ksyms), jited(pi.nr_jited_line_info);
    std::vector<uint32_t> funcLens(pi.nr_jited_func_lens);
    std::vector<bpf_line_info> lines(pi.nr_line_info);
    bpf_prog_info q;
    memset(&q, 0, sizeof q);
    q.nr_jited_ksyms = pi.nr_jited_ksyms;
    q.jited_ksyms = reinterpret_cast<uintptr_t>(ksyms.data());
    q.nr_jited_func_lens = pi.nr_jited_func_lens;
    q.jited_func_lens = reinterpret_cast<uintptr_t>(funcLens.data());
    q.nr_jited_line_info = pi.nr_jited_line_info;
    q.jited_line_info_rec_size = sizeof(uint64_t);
    q.jited_line_info = reinterpret_cast<uintptr_t>(jited.data());
    q.nr_line_info = pi.nr_line_info;
    q.line_info_rec_size = sizeof(bpf_line_info);
    q.line_info = reinterpret_cast<uintptr_t>(lines.data());
    len = sizeof q;
    int err = bpf_prog_get_info_by_fd(fd, &q, &len);
    close(fd);
    btf* b = err ? nullptr : btf__load_from_kernel_by_id(pi.btf_id);
    if (!b) return env.Undefined();
    Napi::Object out = Napi::Object::New(env);
    auto u64s = [&](const std::vector<uint64_t>& v) {
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, v.size() * 8);
      if (!v.empty()) memcpy(ab.Data(), v.data(), v.size() * 8);
      return Napi::TypedArrayOf<uint64_t>::New(env, v.size(), ab, 0, napi_biguint64_array);
    };
    out.Set("ksyms", u64s(ksyms));
    out.Set("jitedLines", u64s(jited));
    Napi::Array fl = Napi::Array::New(env, funcLens.size());
    for (uint32_t i = 0; i < funcLens.size(); i++) fl.Set(i, funcLens[i]);
    out.Set("funcLens", fl);
    Napi::Array files = Napi::Array::New(env, lines.size()), nums = Napi::Array::New(env, lines.size());
    for (uint32_t i = 0; i < lines.size(); i++) {
      const char* f = btf__name_by_offset(b, lines[i].file_name_off);
      files.Set(i, f ? f : "");
      nums.Set(i, BPF_LINE_INFO_LINE_NUM(lines[i].line_col));
    }
    out.Set("files", files);
    out.Set("lines", nums);
    btf__free(b);
    return out;
  }
  return env.Undefined();
}

}  // namespace nlb
