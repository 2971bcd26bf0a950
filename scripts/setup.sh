#!/usr/bin/env bash
# Installs what rdbrekey needs from Debian's packages (when missing) and builds it in build/.
# Usage: scripts/setup.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libcli11-dev libfmt-dev liblzf-dev libxxhash-dev nlohmann-json3-dev libhiredis-dev libssl-dev zlib1g-dev liblz4-dev libzstd-dev libgtest-dev libbenchmark-dev
          redis-server redis-tools openssl
          help2man dpkg-dev file man-db bash-completion zsh lintian python3-jsonschema)
# help2man: the man pages (from --help, at build time); dpkg-dev, file: cpack -G DEB with shlibdeps;
# man-db, bash-completion, zsh, lintian: the tests of the pages, completions and package;
# python3-jsonschema: the test that validates every JSON the tool writes (docs/report-schema.json).
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
