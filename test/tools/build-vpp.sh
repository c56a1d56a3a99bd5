#!/usr/bin/env bash
# Builds a real VPP for the real-VPP tests, lab and benchmarks (issue 18), beside build.sh.
#
# Where it comes from, in this order:
#   1. a `vpp` on PATH (as the fd.io packages install it on a real node) is used as it is;
#   2. NETLOOM_VPP_SRC: a VPP source tree (the repository's root, or its src/) is built with
#      Debian's cmake and ninja into a cache outside the repo, keyed by the source's version and
#      these settings, so a second run with the same source is a no-op;
#   3. neither: the build of an earlier run if there is one; else one loud line, exit 0. The real-VPP suites then skip loudly and the fake VPP
#      server stays the path every machine runs.
# The result is named in $cache/vpp.env (VPP_BIN, VPPCTL_BIN, VPP_PLUGIN_DIR, VPP_API_DIR,
# VPP_VERSION), which test/harness reads; the settings and what does not work here (no TAP without
# /dev/vhost-net) are in ../shared/notes/vpp-binary-api.md.
set -euo pipefail
cache=${NETLOOM_CACHE_DIR:-$HOME/.cache/netloom}/vpp
mkdir -p "$cache"
envfile=$cache/vpp.env

if command -v vpp >/dev/null 2>&1 && [[ -z ${NETLOOM_VPP_SRC:-} ]]; then
  bin=$(command -v vpp)
  plugins=""
  for d in /usr/lib/x86_64-linux-gnu/vpp_plugins /usr/lib/vpp_plugins; do [[ -d $d ]] && plugins=$d && break; done
  api=""
  [[ -d /usr/share/vpp/api ]] && api=/usr/share/vpp/api
  ver=$("$bin" -c /dev/null --version 2>/dev/null | head -1 || true)
  {
    echo "VPP_BIN=$bin"
    echo "VPPCTL_BIN=$(command -v vppctl || true)"
    echo "VPP_PLUGIN_DIR=$plugins"
    echo "VPP_API_DIR=$api"
    echo "VPP_VERSION=${ver:-installed}"
  } >"$envfile"
  echo "build-vpp.sh: using the installed VPP ($bin)"
  exit 0
fi

if [[ -z ${NETLOOM_VPP_SRC:-} ]]; then
  # A build from an earlier run stays in use (setup runs again without the variable).
  if [[ -f $envfile ]] && bin=$(sed -n 's/^VPP_BIN=//p' "$envfile") && [[ -x $bin ]]; then
    echo "build-vpp.sh: using the VPP built earlier ($(sed -n 's/^VPP_VERSION=//p' "$envfile"), $bin)"
    exit 0
  fi
  echo "build-vpp.sh: *** no VPP: neither vpp on PATH nor NETLOOM_VPP_SRC; real-VPP tests will be skipped (the fake VPP is tested) ***" >&2
  rm -f "$envfile"
  exit 0
fi

src=$NETLOOM_VPP_SRC
[[ -f $src/src/CMakeLists.txt ]] && src=$src/src
[[ -f $src/CMakeLists.txt && -d $src/vpp ]] || {
  echo "build-vpp.sh: NETLOOM_VPP_SRC=$NETLOOM_VPP_SRC is not a VPP source tree (no src/CMakeLists.txt)" >&2
  exit 1
}
src=$(cd "$src" && pwd)

# VPP's cmake reads its version from git or from scripts/.version; a tree exported without git
# needs the file. The version is also the cache key, with the settings below.
version=""
if [[ -f $src/scripts/.version ]]; then
  version=$(cat "$src/scripts/.version")
elif git -C "$src/.." rev-parse --git-dir >/dev/null 2>&1; then
  version=$(git -C "$src/.." describe --long --match 'v*' 2>/dev/null || git -C "$src/.." rev-parse --short HEAD)
  echo "$version" >"$src/scripts/.version"
else
  echo "build-vpp.sh: $src has neither git nor scripts/.version; write the version (git describe --long --match 'v*') there" >&2
  exit 1
fi

plugins_wanted="nat,acl,vxlan,af_packet,tap,ping,stn,cnat"
cmake_flags=(-DCMAKE_BUILD_TYPE=Release -DVPP_USE_LTO=OFF -DVPP_BUILD_NATIVE_ONLY=ON
  "-DVPP_PLUGINS=$plugins_wanted" -DPython3_EXECUTABLE=/usr/bin/python3)
key=$(printf '%s\n' "$version" "${cmake_flags[@]}" | sha256sum | cut -c1-12)
out=$cache/$version-$key
build=$out/build

write_env() {
  {
    echo "VPP_BIN=$build/bin/vpp"
    echo "VPPCTL_BIN=$build/bin/vppctl"
    echo "VPP_PLUGIN_DIR=$build/lib/x86_64-linux-gnu/vpp_plugins"
    echo "VPP_API_DIR=$out/api"
    echo "VPP_VERSION=$version"
  } >"$envfile"
}

if [[ -x $build/bin/vpp && -f $out/.done && -d $out/api ]]; then
  echo "build-vpp.sh: VPP $version cached ($build)"
  write_env
  exit 0
fi

# Debian packages VPP's build needs (as root); vppapigen needs python3-ply in the Python cmake finds.
deps=(cmake ninja-build python3-ply libssl-dev libnl-3-dev libnl-route-3-dev libmnl-dev libunwind-dev pkg-config)
missing=()
for p in "${deps[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { echo "build-vpp.sh: not root: install ${missing[*]} first" >&2; exit 1; }
  echo "build-vpp.sh: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "build-vpp.sh: building VPP $version from $src into $build (about 25 minutes on 2 cores)…"
t0=$SECONDS
mkdir -p "$out"
# vppapigen runs as `env python3`: Debian's, which has ply, must come before any other on PATH.
export PATH=/usr/bin:$PATH
cmake -G Ninja -S "$src" -B "$build" "${cmake_flags[@]}" >"$out/cmake.log" 2>&1 ||
  { echo "build-vpp.sh: cmake failed; see $out/cmake.log" >&2; tail -20 "$out/cmake.log" >&2; exit 1; }
ninja -C "$build" >"$out/ninja.log" 2>&1 ||
  { echo "build-vpp.sh: ninja failed; see $out/ninja.log" >&2; tail -30 "$out/ninja.log" >&2; exit 1; }
# The API definitions as JSON, the form agent/dataplane/vpp/api-defs carries and a VPP package
# installs under /usr/share/vpp/api (a build tree keeps them nowhere in one place).
bash "$(dirname "$0")/vpp-api-defs.sh" "$src" "$out/api" ||
  { echo "build-vpp.sh: writing the API definitions failed" >&2; exit 1; }
touch "$out/.done"
write_env
echo "build-vpp.sh: built VPP $version in $((SECONDS - t0)) s"
# Older builds are never used again (a VPP build tree is about 1 GB).
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$(basename "$out")" -exec rm -rf {} +
