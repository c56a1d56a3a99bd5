#!/usr/bin/env bash
# Writes the JSON definitions of every VPP API module in a source tree, as vppapigen (the
# source's own generator) writes them at build time, into one flat directory: the form
# agent/dataplane/vpp/api-defs/ carries and a VPP package installs under /usr/share/vpp/api.
#   vpp-api-defs.sh <VPP source: the repository root or its src/> <output directory>
# build-vpp.sh runs it for the VPP it builds; agent/dataplane/vpp/api-defs/README.md says how the
# carried copy was made with it.
set -euo pipefail
src=${1:?usage: vpp-api-defs.sh <vpp source> <output dir>}
out=${2:?usage: vpp-api-defs.sh <vpp source> <output dir>}
[[ -f $src/src/CMakeLists.txt ]] && src=$src/src
gen=$src/tools/vppapigen/vppapigen
[[ -x $gen ]] || { echo "vpp-api-defs.sh: no vppapigen in $src/tools/vppapigen" >&2; exit 1; }
# vppapigen needs ply: Debian's python3 has it (python3-ply), another python3 on PATH may not.
python=/usr/bin/python3
"$python" -c 'import ply' 2>/dev/null || { echo "vpp-api-defs.sh: $python lacks ply (apt-get install python3-ply)" >&2; exit 1; }
mkdir -p "$out"
# vppapigen also writes C headers beside its output directory's files: those go to a scratch one.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
n=0
while IFS= read -r api; do
  name=$(basename "$api")
  # Test plugins and examples are not part of any VPP a node runs.
  case $api in */examples/* | */test/*) continue ;; esac
  "$python" "$gen" --includedir "$src" --input "$api" JSON --outputdir "$scratch" --output "$out/$name.json" >/dev/null
  n=$((n + 1))
done < <(find "$src" -name '*.api' -not -path '*/tools/*' | sort)
echo "vpp-api-defs.sh: $n modules written to $out"
