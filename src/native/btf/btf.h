// BTF files (the kernel's, a module's, an ELF object's): raw bytes for the TypeScript
// parser, and the C header that btf_dump prints (what `node-libbpf vmlinux` writes).
#pragma once
#include <napi.h>

namespace nlb {

// path/basePath: a file path or raw BTF bytes.
// btfRawData(path, basePath?) -> Buffer: the BTF of a raw BTF file or an ELF object.
Napi::Value BtfRawData(const Napi::CallbackInfo& info);
// btfToCHeader(path) -> string: every type as C, wrapped in preserve_access_index.
Napi::Value BtfToCHeader(const Napi::CallbackInfo& info);

// btfMinCore(btfPath, objectPath) -> Buffer: the raw BTF of only the types in btfPath
// that the object's CO-RE relocations resolve to (for btfCustomPath on kernels without BTF).
Napi::Value BtfMinCore(const Napi::CallbackInfo& info);

}  // namespace nlb
