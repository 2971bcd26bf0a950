#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit tests and end-to-end tests against real
# redis-server processes on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh -DRDBREKEY_TESTS=ON
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 --timeout 600
