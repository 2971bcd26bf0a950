#!/usr/bin/env bash
# Sets up, builds, and converts the bundled sample dump (fixtures/sample.rdb: four open-condo
# applications in databases 0..3 of one Redis 7.0 server) into one prefixed db-0 RDB.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh -DRDBREKEY_TESTS=OFF -DRDBREKEY_BENCH=OFF > /dev/null
out=${1:-$(mktemp -d)/sample-converted.rdb}
set -x
./build/rdbrekey convert fixtures/sample.rdb -o "$out" --force \
  -a 0=@app/condo -a 1=@app/address-service -a 2=@app/resident-app -a 3=@app/eps
