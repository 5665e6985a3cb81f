#include "btf/btf.h"

#include <bpf/btf.h>

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <string>

#include "base/errors.h"
#include "base/wrap.h"
#include "btf/min_core_btf.h"

namespace nlb {

using BtfPtr = std::unique_ptr<struct btf, decltype(&btf__free)>;

// A path (raw BTF or ELF) or the raw bytes of a BTF, optionally split on a base.
static struct btf* ParseOne(const Napi::CallbackInfo& info, size_t i, struct btf* base, const char* what, LogCapture& log) {
  Napi::Env env = info.Env();
  if (info[i].IsTypedArray()) {
    Napi::Uint8Array bytes = BytesArg(info, i, what);
    if (base) return CheckPtr(env, "btf__new_split", log, [&] { return btf__new_split(bytes.Data(), bytes.ByteLength(), base); });
    return CheckPtr(env, "btf__new", log, [&] { return btf__new(bytes.Data(), bytes.ByteLength()); });
  }
  std::string path = StringArg(info, i, what);
  if (base) return CheckPtr(env, "btf__parse_split", log, [&] { return btf__parse_split(path.c_str(), base); });
  return CheckPtr(env, "btf__parse", log, [&] { return btf__parse(path.c_str(), nullptr); });
}

static BtfPtr Parse(const Napi::CallbackInfo& info, BtfPtr& base, LogCapture& log) {
  if (info[1].IsString() || info[1].IsTypedArray()) base.reset(ParseOne(info, 1, nullptr, "base", log));
  return BtfPtr(ParseOne(info, 0, base.get(), "path", log), btf__free);
}

Napi::Value BtfRawData(const Napi::CallbackInfo& info) {
  LogCapture log;
  BtfPtr base(nullptr, btf__free);
  BtfPtr btf = Parse(info, base, log);
  uint32_t size = 0;
  const void* data = btf__raw_data(btf.get(), &size);
  if (!data) Check(info.Env(), -ENOMEM, "btf__raw_data", log);
  return Napi::Buffer<uint8_t>::Copy(info.Env(), static_cast<const uint8_t*>(data), size);
}

static void Append(void* ctx, const char* fmt, va_list args) {
  auto* out = static_cast<std::string*>(ctx);
  char buf[1024];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return;
  if (static_cast<size_t>(n) < sizeof buf) {
    out->append(buf, n);
  } else {
    size_t at = out->size();
    out->resize(at + n + 1);
    vsnprintf(out->data() + at, n + 1, fmt, args);
    out->resize(at + n);
  }
}

Napi::Value BtfToCHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LogCapture log;
  BtfPtr base(nullptr, btf__free);
  BtfPtr btf = Parse(info, base, log);
  std::string out =
      "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
      "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
      "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n";
  std::unique_ptr<btf_dump, decltype(&btf_dump__free)> dump(
      CheckPtr(env, "btf_dump__new", log, [&] { return btf_dump__new(btf.get(), Append, &out, nullptr); }), btf_dump__free);
  uint32_t n = btf__type_cnt(btf.get());
  for (uint32_t id = 1; id < n; id++) Check(env, btf_dump__dump_type(dump.get(), id), "btf_dump__dump_type", log);
  out +=
      "\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
      "#endif /* __VMLINUX_H__ */\n";
  return Napi::String::New(env, out);
}

Napi::Value BtfMinCore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = StringArg(info, 0, "btf path");
  std::string object = StringArg(info, 1, "object path");
  LogCapture log;
  int err = 0;
  BtfPtr out(nlb_min_core_btf(source.c_str(), object.c_str(), &err), btf__free);
  if (!out) Check(env, err ? err : -EINVAL, "min_core_btf", log);
  uint32_t size = 0;
  const void* data = btf__raw_data(out.get(), &size);
  if (!data) Check(env, -ENOMEM, "btf__raw_data", log);
  return Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data), size);
}

}  // namespace nlb
