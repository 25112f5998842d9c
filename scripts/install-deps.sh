#!/usr/bin/env bash
# Installs what ordlog needs to build and test, only when missing (safe to rerun):
#   libsqlite3-dev  the system SQLite ordlog is built on
#   libcurl4-openssl-dev  the system libcurl (OpenSSL TLS) ordlog's AWS calls go through (CurlTransport)
#   sqlite3         the CLI the immutability and tamper tests use
#   moto[server]    moto_server, the AWS-compatible peer for the AWS tests
#   chromium        headless browser for the `ordlog report` tests
# Swift itself is expected on PATH (swift.org toolchain).
set -euo pipefail
need_apt=()
for pkg in libsqlite3-dev libcurl4-openssl-dev sqlite3 pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
if ! command -v moto_server >/dev/null 2>&1; then
  echo "install-deps: pip install moto[server]"
  python3 -m pip install -q 'moto[server]'
fi
# --- chromium: the headless browser the `ordlog report` tests render the page in (Debian package chromium) ---
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: apt-get install chromium"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
# --- end chromium ---
command -v swift >/dev/null 2>&1 || { echo "install-deps: swift is not on PATH; install a Swift 6 toolchain (swift.org)" >&2; exit 1; }
