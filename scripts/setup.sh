#!/usr/bin/env bash
# One command that prepares a fresh Debian machine for netloom's tests and lab:
# Debian packages (as root), npm packages (including the project's own Node 24), and the
# cached builds of etcd 3.6 and kube-apiserver (test/tools/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(nftables iproute2 etcd-client etcd-server containernetworking-plugins iputils-ping procps)
missing=()
for p in "${apt_packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: *** not root: cannot install ${missing[*]}; tests needing them will be skipped ***" >&2
  fi
fi
# Debian's etcd-server starts a system etcd on 2379; the tests start their own on free ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "setup: etcd and kube-apiserver from their Go modules (cached in ~/.cache/netloom/bin)"
bash test/tools/build.sh
echo "setup: done. Run: npm test"
