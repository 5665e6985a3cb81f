// Minimal BTF for one object's CO-RE relocations (what bpftool's `gen min_core_btf`
// makes, our own implementation): every relocation is resolved against the full BTF with
// libbpf's own candidate search and relo_core matcher, the target types and the members
// the relocations walk through are marked, and only those are copied into a new BTF.
// Pointers keep their target type as an empty shell (name and size, no members), so
// the result stays small but still matches what the object's accessors need.
#include "min_core_btf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libbpf_internal.h"
#include "relo_core.h"

enum mark { UNMARKED = 0, SHELL = 1, FULL = 2 };

struct marks {
  const struct btf* btf;
  unsigned char* types;       // enum mark per type id
  unsigned char** members;    // per struct/union id: one flag per member, or NULL
  __u32 count;
};

static int mark_member(struct marks* m, __u32 id, __u32 idx) {
  const struct btf_type* t = btf__type_by_id(m->btf, id);
  if (!m->members[id]) {
    m->members[id] = calloc(btf_vlen(t) ? btf_vlen(t) : 1, 1);
    if (!m->members[id]) return -ENOMEM;
  }
  m->members[id][idx] = 1;
  return 0;
}

static int mark_type(struct marks* m, __u32 id, enum mark how) {
  if (id == 0 || id >= m->count || m->types[id] >= how) return 0;
  m->types[id] = how;
  const struct btf_type* t = btf__type_by_id(m->btf, id);
  int err = 0;
  switch (btf_kind(t)) {
    case BTF_KIND_PTR:
      return mark_type(m, t->type, SHELL);
    case BTF_KIND_ARRAY:
      err = mark_type(m, btf_array(t)->type, how);
      return err ? err : mark_type(m, btf_array(t)->index_type, SHELL);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (how != FULL) return 0;
      const struct btf_member* mem = btf_members(t);
      for (__u32 i = 0; i < btf_vlen(t) && !err; i++) {
        err = mark_member(m, id, i);
        if (!err) err = mark_type(m, mem[i].type, FULL);
      }
      return err;
    }
    case BTF_KIND_FUNC_PROTO: {
      const struct btf_param* p = btf_params(t);
      err = mark_type(m, t->type, SHELL);
      for (__u32 i = 0; i < btf_vlen(t) && !err; i++) err = mark_type(m, p[i].type, SHELL);
      return err;
    }
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_FUNC:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
      return mark_type(m, t->type, how);
    default:  // int, float, enum, enum64, fwd: self-contained
      return 0;
  }
}

// A field relocation: the root type, and along the raw access path every member walked
// through (anonymous ones included) and its type.
static int mark_field_path(struct marks* m, const struct bpf_core_spec* spec) {
  __u32 id = spec->root_type_id;
  int err = mark_type(m, id, SHELL);
  for (int i = 1; i < spec->raw_len && !err; i++) {
    __u32 resolved;
    const struct btf_type* t = skip_mods_and_typedefs(m->btf, id, &resolved);
    if (btf_is_composite(t)) {
      __u32 idx = spec->raw_spec[i];
      err = mark_member(m, resolved, idx);
      id = btf_members(t)[idx].type;
    } else if (btf_is_array(t)) {
      id = btf_array(t)->type;
    } else {
      return -EINVAL;
    }
    if (!err) err = mark_type(m, id, SHELL);
  }
  return err;
}

static int mark_relo(struct marks* m, const struct bpf_core_spec* targ) {
  switch (targ->relo_kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET:
    case BPF_CORE_FIELD_BYTE_SIZE:
    case BPF_CORE_FIELD_EXISTS:
    case BPF_CORE_FIELD_SIGNED:
    case BPF_CORE_FIELD_LSHIFT_U64:
    case BPF_CORE_FIELD_RSHIFT_U64:
      return mark_field_path(m, targ);
    case BPF_CORE_ENUMVAL_EXISTS:
    case BPF_CORE_ENUMVAL_VALUE:
      return mark_type(m, targ->root_type_id, SHELL);
    default:  // type-based: exists, size, matches, target id
      return mark_type(m, targ->root_type_id, FULL);
  }
}

static struct bpf_core_cand_list* find_cands(const struct btf* local, const struct btf* targ, __u32 local_id, int* err) {
  struct bpf_core_cand local_cand = {local, local_id};
  const struct btf_type* t = btf__type_by_id(local, local_id);
  const char* name = t ? btf__name_by_offset(local, t->name_off) : NULL;
  struct bpf_core_cand_list* cands = calloc(1, sizeof(*cands));
  if (!cands) {
    *err = -ENOMEM;
    return NULL;
  }
  if (!name || !*name) {
    *err = -EINVAL;
  } else {
    *err = bpf_core_add_cands(&local_cand, bpf_core_essential_name_len(name), targ, "target", 1, cands);
  }
  if (*err) {
    bpf_core_free_cands(cands);
    return NULL;
  }
  return cands;
}

static int mark_object(struct marks* m, const struct btf* local, const struct btf_ext* ext) {
  const struct btf_ext_info* seg = &ext->core_relo_info;
  const struct btf_ext_info_sec* sec;
  const struct bpf_core_relo* relo;
  struct bpf_core_spec specs[3];
  struct bpf_core_relo_res res;
  int err = 0;
  __u32 i;
  if (!seg->len) return 0;
  for_each_btf_ext_sec(seg, sec) {
    const char* sec_name = btf__name_by_offset(local, sec->sec_name_off);
    for_each_btf_ext_rec(seg, sec, i, relo) {
      if (relo->kind == BPF_CORE_TYPE_ID_LOCAL) continue;  // answered from the object's own BTF
      struct bpf_core_cand_list* cands = find_cands(local, m->btf, relo->type_id, &err);
      if (!cands) return err;
      memset(specs, 0, sizeof specs);
      err = bpf_core_calc_relo_insn(sec_name, relo, i, local, cands, specs, &res);
      bpf_core_free_cands(cands);
      if (err) return err;
      // No target: the relocation is poisoned (or the field absent) on that kernel; nothing to keep.
      if (specs[2].root_type_id == 0 || res.poison) continue;
      specs[2].btf = m->btf;
      err = mark_relo(m, &specs[2]);
      if (err) return err;
    }
  }
  return 0;
}

// Type ids inside a copied type still point into the source BTF: move them to the new ids.
static void remap(struct btf_type* t, const __u32* ids) {
  switch (btf_kind(t)) {
    case BTF_KIND_ARRAY:
      btf_array(t)->type = ids[btf_array(t)->type];
      btf_array(t)->index_type = ids[btf_array(t)->index_type];
      return;
    case BTF_KIND_FUNC_PROTO: {
      struct btf_param* p = btf_params(t);
      t->type = ids[t->type];
      for (__u32 i = 0; i < btf_vlen(t); i++) p[i].type = ids[p[i].type];
      return;
    }
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_FUNC:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
      t->type = ids[t->type];
      return;
    default:
      return;
  }
}

static int copy_composite(struct btf* out, const struct marks* m, __u32 id, const __u32* ids) {
  const struct btf_type* t = btf__type_by_id(m->btf, id);
  const char* name = btf__name_by_offset(m->btf, t->name_off);
  int err = btf_is_struct(t) ? btf__add_struct(out, name, t->size) : btf__add_union(out, name, t->size);
  if (err < 0) return err;
  const struct btf_member* mem = btf_members(t);
  for (__u32 i = 0; i < btf_vlen(t); i++) {
    if (!m->members[id] || !m->members[id][i]) continue;
    err = btf__add_field(out, btf__name_by_offset(m->btf, mem[i].name_off), ids[mem[i].type],
                         btf_member_bit_offset(t, i), btf_member_bitfield_size(t, i));
    if (err < 0) return err;
  }
  return 0;
}

static struct btf* emit(const struct marks* m, int* err) {
  __u32* ids = calloc(m->count, sizeof(*ids));
  struct btf* out = btf__new_empty();
  if (!ids || !out) {
    *err = -ENOMEM;
    goto fail;
  }
  __u32 next = 1;
  for (__u32 id = 1; id < m->count; id++) {
    if (m->types[id]) ids[id] = next++;
  }
  for (__u32 id = 1; id < m->count; id++) {
    if (!m->types[id]) continue;
    const struct btf_type* t = btf__type_by_id(m->btf, id);
    if (btf_is_composite(t)) {
      *err = copy_composite(out, m, id, ids);
    } else {
      *err = btf__add_type(out, m->btf, t);
      if (*err > 0) remap(btf_type_by_id(out, *err), ids);
    }
    if (*err < 0) goto fail;
  }
  *err = 0;
  free(ids);
  return out;
fail:
  free(ids);
  btf__free(out);
  return NULL;
}

struct btf* nlb_min_core_btf(const char* src_path, const char* obj_path, int* err) {
  struct btf_ext* ext = NULL;
  struct btf* local = NULL;
  struct btf* out = NULL;
  struct marks m = {0};
  struct btf* src = btf__parse(src_path, NULL);
  if (!src) {
    *err = -errno;
    return NULL;
  }
  local = btf__parse(obj_path, &ext);
  if (!local) {
    *err = -errno;
    goto done;
  }
  if (!ext) {
    *err = -ENOENT;  // no .BTF.ext: nothing to relocate
    goto done;
  }
  m.btf = src;
  m.count = btf__type_cnt(src);
  m.types = calloc(m.count, 1);
  m.members = calloc(m.count, sizeof(*m.members));
  if (!m.types || !m.members) {
    *err = -ENOMEM;
    goto done;
  }
  *err = mark_object(&m, local, ext);
  if (!*err) out = emit(&m, err);
done:
  if (m.members) {
    for (__u32 i = 0; i < m.count; i++) free(m.members[i]);
  }
  free(m.members);
  free(m.types);
  btf_ext__free(ext);
  btf__free(local);
  btf__free(src);
  return out;
}
