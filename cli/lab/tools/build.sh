#!/usr/bin/env bash
# Builds kube-controller-manager from the Kubernetes Go modules (the same release as the
# kube-apiserver test/tools/build.sh builds) into ~/.cache/netloom/bin, for the lab: it runs the
# Deployment, ReplicaSet, EndpointSlice, garbage-collector, namespace and service-account
# controllers. Skipped when Go is missing; a binary whose inputs are unchanged is not rebuilt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${NETLOOM_CACHE_DIR:-$HOME/.cache/netloom}/bin
mkdir -p "$cache"
command -v go >/dev/null || { echo "lab/tools/build.sh: go is not installed; the lab runs without kube-controller-manager" >&2; exit 0; }
dir=$here/kube-controller-manager
kv=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { sub(/^v/, "", $2); print $2; exit }' "$dir/go.mod")
vpkg=k8s.io/component-base/version
ldflags="-X $vpkg.gitVersion=v$kv -X $vpkg.gitMajor=${kv%%.*} -X $vpkg.gitMinor=$(echo "$kv" | cut -d. -f2) -X $vpkg.gitTreeState=clean"
stamp=$( (cat "$dir/go.mod" "$dir/go.sum" "$dir/main.go"; echo "$ldflags"; go version) | sha256sum | cut -c1-16)
out=$cache/kube-controller-manager-$stamp
if [[ -x $out ]]; then echo "lab/tools/build.sh: kube-controller-manager cached ($out)"; else
  echo "lab/tools/build.sh: building kube-controller-manager (a few minutes when the API server's build is cached)…"
  t0=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$out.tmp" .) && mv "$out.tmp" "$out"
  echo "lab/tools/build.sh: built kube-controller-manager in $((SECONDS - t0)) s"
fi
ln -sfn "$out" "$cache/kube-controller-manager"
