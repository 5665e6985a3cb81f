/* config.h for building elfutils' libelf alone, as a static library, from
   deps/elfutils.gyp (our file, not elfutils'). It replaces what `./configure` would
   write, for glibc 2.31 or newer on any 64- or 32-bit Linux target, so the same file
   serves native and cross builds without running configure. Only what libelf's
   sources test is here: no NLS (messages stay English), zlib for compressed sections,
   no bzip2/lzma/zstd (those are libdwfl's). */
#define _GNU_SOURCE 1
#define HAVE_DECL_MEMPCPY 1
#define HAVE_DECL_MEMRCHR 1
#define HAVE_DECL_POWEROF2 1
#define HAVE_DECL_RAWMEMCHR 1
#define HAVE_DECL_REALLOCARRAY 1
#define HAVE_DECL_STRERROR_R 1
#define HAVE_ERROR_H 1
#define HAVE_ERR_H 1
#define HAVE_FALLTHROUGH 1
#define HAVE_GCC_STRUCT 1
#define HAVE_MREMAP 1
#define HAVE_STDATOMIC_H 1
#define HAVE_VISIBILITY 1
#define STRERROR_R_CHAR_P 1
#define USE_ZLIB 1
#define CHECK_UNDEFINED 0
#define DEFAULT_AR_DETERMINISTIC false
#define PACKAGE "elfutils"
#define PACKAGE_NAME "elfutils"
#define PACKAGE_VERSION "0.188"
#define VERSION "0.188"
#define SIZEOF_LONG __SIZEOF_LONG__
#include <eu-config.h>
