{
  'targets': [{
    # C against libbpf's internal headers (relo_core), kept apart from the C++ sources.
    'target_name': 'nlb_core',
    'type': 'static_library',
    'sources': ['src/native/min_core_btf.c'],
    'dependencies': ['deps/libbpf.gyp:libbpf'],
    'include_dirs': ['deps/libbpf/src/src', 'deps/libbpf/src/include', 'deps/libbpf/src/include/uapi'],
    'defines': ['_GNU_SOURCE'],
    'cflags': ['-fPIC', '-std=gnu11', '-fvisibility=hidden', '-Wall', '-Wno-unused-parameter'],
  }, {
    'target_name': 'node_libbpf',
    'sources': [
      'src/native/addon.cc', 'src/native/errors.cc', 'src/native/log.cc',
      'src/native/object.cc', 'src/native/program.cc', 'src/native/map.cc',
      'src/native/link.cc', 'src/native/btf.cc', 'src/native/event_poll.cc', 'src/native/ring_buffer.cc',
      'src/native/perf_buffer.cc', 'src/native/user_ring_buffer.cc',
      'src/native/program_iter.cc', 'src/native/iter.cc', 'src/native/link_ops.cc',
      'src/native/program_trace.cc',
      'src/native/probe.cc',
      'src/native/program_net.cc',
    ],
    'dependencies': ['nlb_core', 'deps/libbpf.gyp:libbpf'],
    'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
    'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NAPI_CPP_EXCEPTIONS'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++1y', '-std=gnu++20'],
    # The C++ runtime goes into the .node, so it needs only glibc's libraries (the
    # NEEDED entries test/reach/shipped-binaries.test.ts checks).
    # --exclude-libs: nothing from the static archives is exported from the .node.
    'ldflags': ['-static-libstdc++', '-static-libgcc', '-Wl,--exclude-libs,ALL'],
  }],
}
