#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit tests and end-to-end tests against real
# redis-server processes on 127.0.0.1), then the same suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh -DRDBREKEY_TESTS=ON
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j2 --timeout 600)

echo "== the suite again under ASan + UBSan =="
BUILD_DIR=build-asan scripts/setup.sh -DRDBREKEY_TESTS=ON -DRDBREKEY_SANITIZE=ON -DRDBREKEY_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
# MemoryBound measures resident memory, which the sanitizer's allocator (quarantine, shadow
# memory) inflates by design: it runs in the plain build above. DebianPackage packs and lints the
# binary that ships, the plain Release one: it too runs above only.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j2 --timeout 900 -E 'MemoryBound|DebianPackage')
