#!/usr/bin/env bash
# One command that prepares a fresh Debian machine for netloom's tests and lab:
# Debian packages (as root), npm packages (including the project's own Node 24), the cached
# builds of etcd 3.6, kube-apiserver, kube-controller-manager, kube-scheduler and kubelet
# (test/tools/build.sh), a real VPP where NETLOOM_VPP_SRC names its source (build-vpp.sh), and
# vpp_papi in a venv. Under CI every component the tests use must be here afterwards
# (test/README.md): a suite missing one fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(nftables iproute2 conntrack etcd-client etcd-server openssl containernetworking-plugins iputils-ping procps python3 python3-venv containerd runc)
# The lab suites need a kubectl; Debian's is old (1.20) but covers what they run. One installed
# another way (e.g. Google's kubectl package) owns /usr/bin/kubectl, and Debian's would conflict.
command -v kubectl >/dev/null || apt_packages+=(kubernetes-client)
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
# containerd and runc are for the lab's real nodes (`lab up --kubelet real`), which run one
# containerd per node as a plain process with its own root, state and socket; a system
# containerd the package may have started (systemd) is neither used nor disturbed.

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "setup: etcd and kube-apiserver from their Go modules (cached in ~/.cache/netloom/bin)"
bash test/tools/build.sh
# A real VPP for the real-VPP suites, only where a source tree is given (NETLOOM_VPP_SRC) or
# VPP is installed; otherwise one loud line, and the vpp driver is tested against the fake.
bash test/tools/build-vpp.sh
# VPP's reference Python client, for the codec cross-check (test/vpp-papi/). Not fatal here: the
# suite tries again itself, and is skipped without it (a failure under CI).
venv=$HOME/.cache/netloom/vpp-papi-venv
if [[ -x $venv/bin/python ]] && "$venv/bin/python" -c 'import vpp_papi' 2>/dev/null; then
  echo "setup: vpp_papi present ($venv)"
else
  echo "setup: vpp_papi from PyPI into $venv"
  { python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check vpp-papi; } ||
    echo "setup: *** could not install vpp_papi; the VPP cross-check will be skipped (and fail under CI) ***" >&2
fi
echo "setup: done. Run: npm test"
