{
  'targets': [{
    'target_name': 'node_libbpf',
    'sources': [
      'src/native/addon.cc', 'src/native/errors.cc', 'src/native/log.cc',
      'src/native/object.cc', 'src/native/program.cc', 'src/native/map.cc',
      'src/native/link.cc', 'src/native/btf.cc', 'src/native/event_poll.cc', 'src/native/ring_buffer.cc',
      'src/native/perf_buffer.cc', 'src/native/user_ring_buffer.cc',
    ],
    'dependencies': ['deps/libbpf.gyp:libbpf'],
    'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
    'defines': ['NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED', 'NAPI_CPP_EXCEPTIONS'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-missing-field-initializers'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++1y', '-std=gnu++20'],
  }],
}
