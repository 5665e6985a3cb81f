{
  'targets': [{
    # C against libbpf's internal headers (relo_core), kept apart from the C++ sources.
    'target_name': 'nlb_core',
    'type': 'static_library',
    'sources': ['src/native/btf/min_core_btf.c'],
    'dependencies': ['deps/libbpf.gyp:libbpf'],
    'include_dirs': ['deps/libbpf/src/src', 'deps/libbpf/src/include', 'deps/libbpf/src/include/uapi'],
    'defines': ['_GNU_SOURCE'],
    'cflags': ['-fPIC', '-std=gnu11', '-fvisibility=hidden', '-Wall', '-Wno-unused-parameter'],
  }, {
    'target_name': 'node_libbpf',
    'sources': [
      'src/native/base/addon.cc', 'src/native/base/errors.cc', 'src/native/base/log.cc',
      'src/native/core/object.cc', 'src/native/core/program.cc', 'src/native/core/program_iter.cc',
      'src/native/core/program_trace.cc', 'src/native/core/program_net.cc',
      'src/native/core/map.cc', 'src/native/core/link.cc', 'src/native/core/link_ops.cc', 'src/native/core/iter.cc',
      'src/native/events/event_poll.cc', 'src/native/events/ring_buffer.cc',
      'src/native/events/perf_buffer.cc', 'src/native/events/user_ring_buffer.cc',
      'src/native/btf/btf.cc',
      'src/native/probe/probe.cc',
    ],
    'dependencies': ['nlb_core', 'deps/libbpf.gyp:libbpf'],
    'include_dirs': ['src/native', "<!(node -p \"require('node-addon-api').include_dir\")"],
    # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: an async completion (load, testRunAsync, an
    # iterator read) that settles its promise after worker.terminate() cannot throw into
    # JS; without it node-addon-api's C++ exception escapes and aborts the whole process.
    'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NAPI_CPP_EXCEPTIONS', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++1y', '-std=gnu++20'],
    # The C++ runtime goes into the .node, so it needs only glibc's libraries (the
    # NEEDED entries test/package/shipped-binaries.test.ts checks).
    # --exclude-libs: nothing from the static archives is exported from the .node.
    'ldflags': ['-static-libstdc++', '-static-libgcc', '-Wl,--exclude-libs,ALL'],
  }],
}
