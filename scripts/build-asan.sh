#!/usr/bin/env bash
# The addon built with AddressSanitizer, for the fuzzer (`npm run fuzz -- --asan`):
#   build/asan/tree/build/Release/node_libbpf.node
# built in a tree of its own (symlinks to binding.gyp, src/, deps/), so build/Release,
# what the tests and users load, is not touched. Load it with
#   LD_PRELOAD=$(gcc -print-file-name=libasan.so) NODE_LIBBPF_ADDON=<that .node> node ...
# (node itself is not instrumented, so libasan must come first; leak checking is off).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
tree=build/asan/tree
mkdir -p "$tree"
for f in binding.gyp src package.json; do ln -sfn "$top/$f" "$tree/$f"; done
# deps/ is a real directory here: gyp resolves symlinks, and through a linked deps/ it put
# libbpf's archive into the source tree's deps/.
[ -L "$tree/deps" ] && rm "$tree/deps"
mkdir -p "$tree/deps"
# Every gyp file of deps/ (libbpf's depends on elfutils' and zlib's) and their trees.
for g in deps/*.gyp; do cp "$g" "$tree/$g"; done
for d in deps/*/; do d=${d%/}; ln -sfn "$top/$d" "$tree/$d"; done
san='-fsanitize=address -fno-omit-frame-pointer -g'
# node's headers: npm's nodedir setting, as `npm run build` uses (offline machines)
nodedir=${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}
[ -n "$nodedir" ] && [ "$nodedir" != undefined ] && [ "$nodedir" != null ] && nodedir_arg=(--nodedir "$nodedir") || nodedir_arg=()
cd "$tree"
CFLAGS="$san" CXXFLAGS="$san" LDFLAGS='-fsanitize=address' \
  node "$top/node_modules/node-gyp/bin/node-gyp.js" rebuild -j "${JOBS:-2}" "${nodedir_arg[@]}" >&2
echo "$top/$tree/build/Release/node_libbpf.node"
