# zlib, built from the pinned release that deps/zlib/fetch.sh unpacks into deps/zlib/src,
# as a position-independent static library (libelf reads compressed ELF sections with it).
# Its symbols stay hidden inside the addon, so they never meet Node's own zlib.
{
  'targets': [{
    'target_name': 'zlib',
    'type': 'static_library',
    'variables': { 'src': 'zlib/src', 'fetched': '<!(bash zlib/fetch.sh >&2 && echo yes)' },
    'sources': [
      '<(src)/adler32.c', '<(src)/compress.c', '<(src)/crc32.c', '<(src)/deflate.c',
      '<(src)/gzclose.c', '<(src)/gzlib.c', '<(src)/gzread.c', '<(src)/gzwrite.c',
      '<(src)/infback.c', '<(src)/inffast.c', '<(src)/inflate.c', '<(src)/inftrees.c',
      '<(src)/trees.c', '<(src)/uncompr.c', '<(src)/zutil.c',
    ],
    'include_dirs': ['<(src)'],
    'defines': ['HAVE_UNISTD_H', 'HAVE_STDARG_H', '_LARGEFILE64_SOURCE=1'],
    'cflags': ['-fPIC', '-w', '-O2', '-fvisibility=hidden'],
    'cflags!': ['-fno-omit-frame-pointer'],
    'direct_dependent_settings': { 'include_dirs': ['zlib/src/out/include'] },
  }],
}
