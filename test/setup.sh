#!/usr/bin/env bash
# Idempotent installer for everything the tests need: Debian packages (only the missing ones,
# without starting their services) and node_modules. Safe to run on every test run.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker-registry: the Distribution registry 2.x, run on loopback by test/cluster/registry.ts for pull/push/login tests.
PACKAGES=(docker.io busybox-static etcd-server zookeeper docker-compose docker-registry iptables openssl tmux iproute2 util-linux procps perl-base)

SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=(sudo); fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  # "install ok installed" only: a removed-but-configured package still needs installing.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Daemons that were running before the install are not ours to touch (`|| true`: none running
  # is fine, and pipefail would otherwise end the script here).
  DAEMONS='dockerd|containerd|etcd|docker-registr.' # comm is cut at 15 chars: docker-registry is matched by the dot
  before=" $( (pgrep -x "$DAEMONS" || true) | tr '\n' ' ') "
  # policy-rc.d exit 101 tells invoke-rc.d not to start services from package postinst scripts.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  cleanup_policy() { if [ "$made_policy" = 1 ]; then "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  cleanup_policy
  made_policy=0
  # Anything the install started anyway (a postinst ignoring policy-rc.d) is stopped by PID.
  # Test daemons that the kit started meanwhile (other runs on this machine) live under
  # /tmp/swarm-test-*: never a package's service, never stopped here.
  for pid in $(pgrep -x "$DAEMONS" || true); do
    case "$before" in *" $pid "*) continue ;; esac
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '/tmp/swarm-test-'; then continue; fi
    echo "setup: stopping $(ps -o comm= -p "$pid" 2>/dev/null || echo '?') ($pid) started by the package install"
    "${SUDO[@]}" kill "$pid" 2>/dev/null || true
  done
else
  echo "setup: system packages present"
fi

for bin in dockerd etcd java unshare ip busybox docker-registry perl; do
  command -v "$bin" >/dev/null || { echo "setup: $bin not found after install" >&2; exit 1; }
done
if [ ! -x /usr/local/bin/docker ] && ! command -v docker >/dev/null; then
  echo "setup: no docker CLI (expected /usr/local/bin/docker or Debian's /usr/bin/docker)" >&2
  exit 1
fi

if [ ! -d node_modules ]; then
  if [ -f package-lock.json ]; then
    echo "setup: npm ci"
    npm ci --no-audit --no-fund
  else
    echo "setup: npm install"
    npm install --no-audit --no-fund
  fi
fi
