#!/usr/bin/env bash
# Builds the real components the tests, the lab and the benchmarks run (a current etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl) from their Go modules into a cache outside the repo. A binary whose inputs (go.mod, go.sum, main.go,
# Go version) are unchanged is not rebuilt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${NETLOOM_CACHE_DIR:-$HOME/.cache/netloom}/bin
mkdir -p "$cache"
command -v go >/dev/null || { echo "build.sh: go is not installed; tests that need kube-apiserver or etcd 3.6 will be skipped" >&2; exit 0; }

build() { # name dir [ldflags]
  local name=$1 dir=$here/$2 ldflags=${3:-}
  local stamp; stamp=$( (cat "$dir/go.mod" "$dir/go.sum" "$dir/main.go"; echo "$ldflags"; go version) | sha256sum | cut -c1-16)
  local out=$cache/$name-$stamp
  if [[ -x $out ]]; then echo "build.sh: $name cached ($out)"; else
    echo "build.sh: building $name (a cold kube-apiserver build takes several minutes)…"
    local t0=$SECONDS
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$out.tmp" .) && mv "$out.tmp" "$out"
    echo "build.sh: built $name in $((SECONDS - t0)) s"
  fi
  ln -sfn "$out" "$cache/$name"
  # Older builds of the same component are never used again.
  find "$cache" -maxdepth 1 -name "$name-*" ! -name "$(basename "$out")" -delete
}
build etcd etcd
# Stamp the release into the binary: the API server derives its compatibility version from it.
kv=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { sub(/^v/, "", $2); print $2; exit }' "$here/kube-apiserver/go.mod")
vpkg=k8s.io/component-base/version
kflags="-X $vpkg.gitVersion=v$kv -X $vpkg.gitMajor=${kv%%.*} -X $vpkg.gitMinor=$(echo "$kv" | cut -d. -f2) -X $vpkg.gitTreeState=clean"
build kube-apiserver kube-apiserver "$kflags"
# The lab's Deployment, ReplicaSet, EndpointSlice, namespace and GC controllers (same pins).
build kube-controller-manager kube-controller-manager "$kflags"
# The lab's real-node mode (`lab up --kubelet real`): the scheduler and each node's kubelet (same pins).
build kube-scheduler kube-scheduler "$kflags"
build kubelet kubelet "$kflags"
# The reference service data plane the services benchmark measures netloom against (same pins).
build kube-proxy kube-proxy "$kflags"
# The client the manifest tests render and apply deploy/ with (kustomize, server dry run, auth can-i).
build kubectl kubectl "$kflags"
# The independent NetworkPolicy oracle of test/policy-oracle.test.ts (cyclonus v0.5.6, pinned in its go.mod).
build cyclonus cyclonus
