#!/usr/bin/env bash
# Compressed inputs and outputs, and --target conversions, timed side by side with the tools
# that set the floor for each, on one generated dataset:
#   convert of a .gz / .lz4 / .zst input   vs  gzip -dc / lz4 -dc / zstd -dc of it (to /dev/null)
#   convert from a pipe (cat FILE |)       vs  convert FILE (what any stream input costs)
#   convert to a .gz / .lz4 / .zst output  vs  gzip -c / lz4 -c / zstd -T0 -c of the input
#   convert --target valkey8 (no record needs a rewrite)  vs  convert (no target)
#   convert --target redis6.2 (listpacks, quicklists and streams rewritten)  vs  convert
#
# Usage: bench/streams.sh [--quick] [WORK_DIR]     (default WORK_DIR: /tmp/rdbrekey-bench)
#   --quick   100,000 keys of the "small" profile instead of 1,000,000, and 3 rounds
# Environment: BUILD_DIR (default <project>/build), ROUNDS (default 5, --quick 3).
# Needs the project's build, gzip, lz4 and zstd (installed from Debian when missing). Writes
# bench/STREAMS_RESULTS.md. Each pair runs A B A B ... (drift affects both alike); the ratio is
# the median of the per-round ratios A/B.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
work=/tmp/rdbrekey-bench
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "streams.sh: unknown option $arg" >&2; exit 2 ;;
    *) work=$arg ;;
  esac
done
rounds=${ROUNDS:-$([ $quick = 1 ] && echo 3 || echo 5)}
keys=$([ $quick = 1 ] && echo 100000 || echo 1000000)
build=${BUILD_DIR:-$root/build}
mkdir -p "$work"
work=$(cd "$work" && pwd)
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

missing=()
for tool in gzip lz4 zstd; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target rdbrekey rdbgen >/dev/null
rdbrekey=$build/rdbrekey

in=$work/streams-small-$keys.rdb
if [ ! -f "$in" ]; then
  log "generating $keys keys (small profile) into $in"
  "$build/rdbgen" --profile small --seed 1 --keys "$keys" -o "$in" >/dev/null
fi
for c in gz lz4 zst; do
  [ -f "$in.$c" ] && continue
  case $c in
    gz) gzip -c "$in" > "$in.$c" ;;
    lz4) lz4 -q -c "$in" > "$in.$c" ;;
    zst) zstd -q -T0 -c "$in" > "$in.$c" ;;
  esac
done
apps="-a 0=@app/condo -a 1=@app/resident-app -a 2=@app/billing -a 3=@app/miniapp"
out=$work/streams-out

# Seconds one shell command takes (its output discarded).
seconds() {
  local t0=$EPOCHREALTIME
  bash -c "$1" >/dev/null 2>&1 || { echo "failed: $1" >&2; exit 1; }
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}'
}
median() { sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

rows=()
# pair NAME A B: A and B in turn, one warm-up each, then `rounds` rounds.
pair() {
  local name=$1 a=$2 b=$3 ta tb ratios=() as=() bs=()
  seconds "$a" >/dev/null; seconds "$b" >/dev/null
  for ((i = 0; i < rounds; i++)); do
    sync
    ta=$(seconds "$a")
    sync
    tb=$(seconds "$b")
    as+=("$ta"); bs+=("$tb")
    ratios+=("$(awk -v a="$ta" -v b="$tb" 'BEGIN{printf "%.3f", a/b}')")
  done
  local ma mb mr
  ma=$(printf '%s\n' "${as[@]}" | median)
  mb=$(printf '%s\n' "${bs[@]}" | median)
  mr=$(printf '%s\n' "${ratios[@]}" | median)
  log "$name: ${ma} s vs ${mb} s, ratio ${mr}"
  rows+=("| $name | $ma | $mb | **$mr** |")
}

for c in gz lz4 zst; do
  case $c in gz) d="gzip -dc" ;; lz4) d="lz4 -dc" ;; zst) d="zstd -dc" ;; esac
  pair "convert $c input vs \`$d\`" "$rdbrekey convert $in.$c $apps -o $out.rdb -f -q" "$d $in.$c > /dev/null"
done
pair "convert from a pipe (\`cat FILE |\`) vs from the file" "bash -c 'cat $in | $rdbrekey convert - $apps -o $out.rdb -f -q'" \
  "$rdbrekey convert $in $apps -o $out.rdb -f -q"
for c in gz lz4 zst; do
  case $c in gz) z="gzip -c" ;; lz4) z="lz4 -q -c" ;; zst) z="zstd -q -T0 -c" ;; esac
  pair "convert to a .$c output vs \`$z\`" "$rdbrekey convert $in $apps -o $out.rdb.$c -f -q" "$z $in > $out.tool.$c"
done
pair "--target valkey8 (nothing rewritten) vs no target" "$rdbrekey convert $in $apps --target valkey8 -o $out.rdb -f -q" \
  "$rdbrekey convert $in $apps -o $out.rdb -f -q"
pair "--target redis6.2 (listpacks rewritten) vs no target" "$rdbrekey convert $in $apps --target redis6.2 -o $out.rdb -f -q" \
  "$rdbrekey convert $in $apps -o $out.rdb -f -q"
conversions=$("$rdbrekey" convert "$in" $apps --target redis6.2 -o "$out.rdb" -f | grep '^convert' || true)
rm -f "$out".*

{
  echo "# Compressed streams and --target conversions"
  echo
  echo "Written by \`bench/streams.sh$([ $quick = 1 ] && echo ' --quick')\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores."
  echo "Input: $(commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }; commas "$keys") keys of the \"small\" profile," \
       "$(stat -c %s "$in") bytes (gzip $(stat -c %s "$in.gz"), lz4 $(stat -c %s "$in.lz4"), zstd $(stat -c %s "$in.zst"))."
  echo "Medians of $rounds rounds, A and B in turn; the ratio is the median of the per-round ratios A/B."
  echo
  echo "| A vs B | A (s) | B (s) | A / B |"
  echo "|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "With --target redis6.2 the conversion rewrote: \`${conversions#convert }\`"
  echo
  echo "A compressed input is a stream, like a pipe: its keys cannot be read again by offset, so the"
  echo "collision check remembers every key (16 bytes each, sorted at the end) instead of only the"
  echo "already-prefixed ones; the pipe row shows that cost without any decompression."
} > "$root/bench/STREAMS_RESULTS.md"
log "wrote bench/STREAMS_RESULTS.md"
