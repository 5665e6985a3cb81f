# libbpf, built from the pinned release that deps/libbpf/fetch.sh unpacks into
# deps/libbpf/src, as a static library linked into the addon (so `ldd` on the .node
# shows no libbpf), with libelf and zlib built the same way from their own pinned
# sources (deps/elfutils.gyp, deps/zlib.gyp).
{
  'targets': [{
    'target_name': 'libbpf',
    'type': 'static_library',
    # Configuring fetches and verifies the pinned source (a no-op once unpacked).
    'variables': { 'src': 'libbpf/src/src', 'fetched': '<!(bash libbpf/fetch.sh >&2 && echo yes)' },
    'sources': [
      '<(src)/bpf.c', '<(src)/bpf_prog_linfo.c', '<(src)/btf.c', '<(src)/btf_dump.c',
      '<(src)/btf_iter.c', '<(src)/btf_relocate.c', '<(src)/elf.c', '<(src)/features.c',
      '<(src)/gen_loader.c', '<(src)/hashmap.c', '<(src)/libbpf.c', '<(src)/libbpf_probes.c',
      '<(src)/libbpf_utils.c', '<(src)/linker.c', '<(src)/netlink.c', '<(src)/nlattr.c',
      '<(src)/relo_core.c', '<(src)/ringbuf.c', '<(src)/strset.c', '<(src)/usdt.c',
      '<(src)/zip.c',
    ],
    'include_dirs': ['<(src)', 'libbpf/src/include', 'libbpf/src/include/uapi'],
    'defines': ['_LARGEFILE64_SOURCE', '_FILE_OFFSET_BITS=64', '_GNU_SOURCE'],
    'cflags': ['-fPIC', '-w', '-O2', '-std=gnu11', '-fvisibility=hidden'],
    'cflags!': ['-fno-omit-frame-pointer'],
    'direct_dependent_settings': {
      'include_dirs': ['libbpf/src/out/include', 'libbpf/src/include/uapi'],
    },
    'dependencies': ['elfutils.gyp:libelf'],
    'export_dependent_settings': ['elfutils.gyp:libelf'],
  }],
}
