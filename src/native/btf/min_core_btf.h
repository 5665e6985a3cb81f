// Minimal BTF for an object's CO-RE relocations (C, built against libbpf's internals).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct btf;

// The types of `src_path` (a kernel's BTF) that the CO-RE relocations in the object at
// `obj_path` resolve to, as a new BTF; NULL with *err a negative errno on failure.
struct btf* nlb_min_core_btf(const char* src_path, const char* obj_path, int* err);

#ifdef __cplusplus
}
#endif
