#!/usr/bin/env bash
# End-to-end benchmark of `rdbrekey convert` against the physical floor (cp), Redis' own RDB
# checker (redis-check-rdb) and a real load into redis-server, on three generated datasets:
#   small        10,000,000 keys of mostly short strings (TTL on a third, Bull keys on a tenth)
#   mixed         1,000,000 keys shaped like an application (JSON strings, collections, streams,
#                 a few 2-8 MB strings)
#   huge-values         200 string values of 1-20 MB of random bytes
#
# Two paths are timed: the durable one (output on the work dir's disk, fsynced, against cp and
# cp + sync of the copy) and the memory one (output on tmpfs, SHM_DIR, where fsync costs nothing:
# the CPU path, against cp to the same tmpfs), the latter also with --threads 1 and with every
# key remembered by the collision check (--unmapped keep). Without --quick, a 5,000,000-key
# mixed dataset is converted once more for the peak resident memory of a database read twice.
#
# Usage: bench/run.sh [--quick] [WORK_DIR]        (default WORK_DIR: /tmp/rdbrekey-bench)
#   --quick     smaller datasets (1,000,000 / 100,000 / 20 keys) and 3 rounds instead of 5
# Environment: BUILD_DIR (default: <project>/build), ROUNDS (rounds per tool), SEED (default 1),
#   BASELINE (another rdbrekey binary, e.g. an older commit's build: timed as "rdbrekey@baseline"
#   in the same rounds, alternating with the others, for before/after comparisons).
#
# Needs only the project and Debian packages (cmake, a C++ compiler, the project's -dev
# packages, redis-server, redis-tools, time). Writes bench/RESULTS.md.
#
# Method: the datasets are generated once (cached in WORK_DIR while the generator and its
# arguments are unchanged) and each is checked to load into a real redis-server with the
# expected keyspace (not timed), and so is rdbrekey's output of it. Then, per dataset, one
# warm-up run of every tool (the page cache holds the input afterwards: dropping caches needs
# root and is not done), then ROUNDS rounds in which the tools run one after the other
# (alternating, so that drift affects all alike). `sync` runs (untimed) between runs so that
# one run's dirty pages are not written back during the next.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
work=/tmp/rdbrekey-bench
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
    *) work=$arg ;;
  esac
done
rounds=${ROUNDS:-$([ $quick = 1 ] && echo 3 || echo 5)}
seed=${SEED:-1}
build=${BUILD_DIR:-$root/build}
shm=${SHM_DIR:-/dev/shm}/rdbrekey-bench
mkdir -p "$work" "$shm"
work=$(cd "$work" && pwd)
results=$root/bench/RESULTS.md
started_at=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t_script=$EPOCHREALTIME

commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- prerequisites and build -------------------------------------------------------------------

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (the 'time' package)"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq time >/dev/null
fi
for tool in redis-server redis-cli redis-check-rdb cmake; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install redis-server redis-tools cmake)" >&2; exit 1; }
done

if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
  log "configuring a Release build in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
log "building rdbrekey and rdbgen in $build"
cmake --build "$build" -j"$(nproc)" --target rdbrekey rdbgen >/dev/null
rdbrekey=$build/rdbrekey
rdbgen=$build/rdbgen
lto=$(sed -n 's/^RDBREKEY_LTO:BOOL=//p' "$build/CMakeCache.txt")

# ---- helpers -----------------------------------------------------------------------------------

declare -a live_pids=()
cleanup() {
  local p
  for p in "${live_pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap 'cleanup; rm -rf "$shm"' EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# redis_start FILE LOGFILE [time-output-file]: starts redis-server on FILE (never saving: no save
# points, AOF off), on a free loopback port; sets REDIS_PID and REDIS_PORT. With a third
# argument the server runs under GNU time (its max RSS lands there) and REDIS_PID is the
# server's own PID.
redis_start() {
  local file=$1 logfile=$2 tf=${3:-}
  REDIS_PORT=$(free_port)
  local args=(--port "$REDIS_PORT" --bind 127.0.0.1 --dir "$(dirname "$file")" --dbfilename "$(basename "$file")"
              --save "" --appendonly no --daemonize no --logfile "$logfile")
  if [ -n "$tf" ]; then
    /usr/bin/time -f '%e %M' -o "$tf" redis-server "${args[@]}" &
    TIME_PID=$!
    live_pids+=("$TIME_PID")
    local i
    for i in $(seq 1 500); do
      REDIS_PID=$( (cat "/proc/$TIME_PID/task/$TIME_PID/children" 2>/dev/null || pgrep -P "$TIME_PID") | awk '{print $1; exit}')
      [ -n "$REDIS_PID" ] && break
      sleep 0.002
    done
  else
    redis-server "${args[@]}" &
    REDIS_PID=$!
  fi
  live_pids+=("$REDIS_PID")
}

# redis_wait_ready: polls PING over one connection (no process per poll) until +PONG (the
# server answers -LOADING while it loads). Fails when the server exits.
redis_wait_ready() {
  local line
  while ! { exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"; } 2>/dev/null; do
    kill -0 "$REDIS_PID" 2>/dev/null || return 1
    sleep 0.005
  done
  while :; do
    printf 'PING\r\n' >&3 || return 1
    IFS= read -r line <&3 || return 1
    [ "${line%$'\r'}" = "+PONG" ] && break
    sleep 0.005
  done
  exec 3>&-
}

# redis_start_ready FILE LOGFILE [time-output-file]: redis_start and redis_wait_ready, trying
# another port when the one picked was taken in the meantime (other servers on this machine).
redis_start_ready() {
  local attempt
  for attempt in 1 2 3 4 5; do
    rm -f "$2"
    redis_start "$@"
    redis_wait_ready && return 0
    redis_stop
    grep -q 'Address already in use' "$2" 2>/dev/null || return 1
  done
  return 1
}

redis_stop() {
  kill "$REDIS_PID" 2>/dev/null || true
  while kill -0 "$REDIS_PID" 2>/dev/null; do sleep 0.01; done
  if [ -n "${TIME_PID:-}" ]; then wait "$TIME_PID" 2>/dev/null || true; TIME_PID=""; else wait "$REDIS_PID" 2>/dev/null || true; fi
  live_pids=()
}

# check_load FILE EXPECTED ("db0=N db1=M ..."): loads FILE, compares the keyspace.
check_load() {
  local file=$1 expected=$2 logfile=$work/check-load.log got
  if ! redis_start_ready "$file" "$logfile"; then
    echo "run.sh: redis-server did not load $file:" >&2
    tail -20 "$logfile" >&2
    exit 1
  fi
  got=$(redis-cli -p "$REDIS_PORT" info keyspace | tr -d '\r' | sed -n 's/^\(db[0-9]*\):keys=\([0-9]*\),.*/\1=\2/p' | paste -sd' ')
  local loaded
  loaded=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$logfile" | head -1 || true)
  redis_stop
  if [ "$got" != "$expected" ]; then
    echo "run.sh: $file: redis-server holds '$got', expected '$expected'" >&2
    exit 1
  fi
  log "  redis-server loaded $(basename "$file"): $got (${loaded:-no load time in log})"
}

# ---- datasets ----------------------------------------------------------------------------------

if [ $quick = 1 ]; then
  datasets=("small:1000000" "mixed:100000" "huge-values:20")
else
  datasets=("small:10000000" "mixed:1000000" "huge-values:200")
fi
gen_sum=$(md5sum "$rdbgen" | cut -c1-32)

declare -A expect_keys expect_total file_bytes
for spec in "${datasets[@]}"; do
  name=${spec%%:*}
  keys=${spec##*:}
  file=$work/$name.rdb
  stamp="rdbgen $gen_sum --profile $name --seed $seed --keys $keys"
  if [ -f "$file" ] && [ -f "$file.meta" ] && [ "$(head -1 "$file.meta")" = "$stamp" ]; then
    log "dataset $name: reusing $file"
  else
    log "dataset $name: generating $keys keys into $file"
    rm -f "$file" "$file.meta"
    t0=$EPOCHREALTIME
    "$rdbgen" --profile "$name" --seed "$seed" --keys "$keys" -o "$file" > "$work/$name.gen.txt"
    t1=$EPOCHREALTIME
    { echo "$stamp"; tail -1 "$work/$name.gen.txt"; } > "$file.meta"
    log "  generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s: $(sed -n 2p "$work/$name.gen.txt" | sed 's/^ *//')"
  fi
  line=$(tail -1 "$file.meta")
  expect_keys[$name]=$(tr ' ' '\n' <<<"$line" | grep '^db[0-9]' | paste -sd' ')
  expect_total[$name]=$(sed -n 's/.* total=\([0-9]*\).*/\1/p' <<<"$line")
  file_bytes[$name]=$(stat -c %s "$file")
done

apps=(-a 0=a -a 1=b -a 2=c -a 3=d)
log "checking that every dataset, and rdbrekey's output of it, loads into redis-server (not timed)"
for spec in "${datasets[@]}"; do
  name=${spec%%:*}
  file=$work/$name.rdb
  check_load "$file" "${expect_keys[$name]}"
  out=$work/$name.converted.rdb
  "$rdbrekey" convert "$file" -o "$out" "${apps[@]}" --force > "$work/$name.convert.txt"
  # Every key lands in db 0, plus one start-up guard key (P:data_version) per application.
  check_load "$out" "db0=$(( ${expect_total[$name]} + 4 ))"
  rm -f "$out"
done

# ---- timed runs --------------------------------------------------------------------------------

# run_timed TOOL DATASET: runs one measurement; appends "tool seconds maxrss_kb" to $samples.
run_timed() {
  local tool=$1 name=$2 file=$work/$2.rdb tf=$work/time.out t0 t1 rss
  case $tool in
    rdbrekey)
      rm -f "$work/$name.converted.rdb"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$rdbrekey" convert "$file" -o "$work/$name.converted.rdb" "${apps[@]}" --force -q
      t1=$EPOCHREALTIME
      ;;
    rdbrekey-mem|rdbrekey-mem-t1|rdbrekey-mem-keep)
      local extra=()
      [ "$tool" = rdbrekey-mem-t1 ] && extra=(--threads 1)
      [ "$tool" = rdbrekey-mem-keep ] && extra=(--unmapped keep)
      rm -f "$shm/$name.converted.rdb"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$rdbrekey" convert "$file" -o "$shm/$name.converted.rdb" "${apps[@]}" -q "${extra[@]}"
      t1=$EPOCHREALTIME
      rm -f "$shm/$name.converted.rdb"
      ;;
    cp-mem)
      rm -f "$shm/$name.cp.rdb"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" cp "$file" "$shm/$name.cp.rdb"
      t1=$EPOCHREALTIME
      rm -f "$shm/$name.cp.rdb"
      ;;
    rdbrekey-cluster)
      rm -rf "$work/$name.shards"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$rdbrekey" convert "$file" --cluster 3 --output-dir "$work/$name.shards" "${apps[@]}" --force -q
      t1=$EPOCHREALTIME
      ;;
    rdbrekey-cluster-mem)
      rm -rf "$shm/$name.shards"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$rdbrekey" convert "$file" --cluster 3 --output-dir "$shm/$name.shards" "${apps[@]}" -q
      t1=$EPOCHREALTIME
      rm -rf "$shm/$name.shards"
      ;;
    rdbrekey@baseline)
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$baseline" convert "$file" -o "$work/$name.converted.rdb" "${apps[@]}" --force -q
      t1=$EPOCHREALTIME
      ;;
    cp)
      rm -f "$work/$name.cp.rdb"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" cp "$file" "$work/$name.cp.rdb"
      t1=$EPOCHREALTIME
      ;;
    cp+fsync)
      rm -f "$work/$name.cp.rdb"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" sh -c 'cp "$1" "$2" && sync "$2"' sh "$file" "$work/$name.cp.rdb"
      t1=$EPOCHREALTIME
      ;;
    redis-check-rdb)
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" redis-check-rdb "$file" > "$work/check.out" 2>&1 ||
        { cat "$work/check.out" >&2; exit 1; }
      t1=$EPOCHREALTIME
      ;;
    redis-server)
      t0=$EPOCHREALTIME
      redis_start_ready "$file" "$work/load.log" "$tf" || { tail "$work/load.log" >&2; exit 1; }
      t1=$EPOCHREALTIME
      redis_stop
      ;;
  esac
  rss=$(awk '{print $2}' "$tf")
  sync
  echo "$tool $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}') $rss" >> "$samples"
}

# sample_memory CMD...: runs CMD, sampling /proc/PID/status every few ms; prints
# "seconds peak_anon_kb peak_file_kb vmhwm_kb".
sample_memory() {
  local pid k v rest anon=0 filep=0 hwm=0 t0 t1
  t0=$EPOCHREALTIME
  "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    while read -r k v rest; do
      case $k in
        RssAnon:) [ "$v" -gt "$anon" ] && anon=$v ;;
        RssFile:) [ "$v" -gt "$filep" ] && filep=$v ;;
        VmHWM:) [ "$v" -gt "$hwm" ] && hwm=$v ;;
      esac
    done < "/proc/$pid/status" 2>/dev/null || true
    sleep 0.002
  done
  wait "$pid"
  t1=$EPOCHREALTIME
  sync
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $anon $filep $hwm"
}

# Peak memory of one rdbrekey run (sample_memory): resident anonymous memory (what the process
# allocates) apart from resident file pages (the mapped input's page-cache pages, which the kernel
# can drop at any time) and VmHWM (the kernel's own peak of their sum); prints "anon file hwm".
sample_rdbrekey_memory() {
  local name=$1
  shift
  sample_memory "$rdbrekey" convert "$work/$name.rdb" -o "$work/$name.converted.rdb" "${apps[@]}" --force -q "$@" |
    cut -d' ' -f2-
}

# rdbrekey-cluster: the same conversion split into one file per primary of a 3-primary cluster.
# The same sampling for a split into N files (--cluster N).
sample_rdbrekey_split_memory() {
  local name=$1 n=$2 file=$work/$1.rdb pid k v rest anon=0
  rm -rf "$work/$name.shards"
  "$rdbrekey" convert "$file" --cluster "$n" --output-dir "$work/$name.shards" "${apps[@]}" --force -q &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    while read -r k v rest; do
      [ "$k" = RssAnon: ] && [ "$v" -gt "$anon" ] && anon=$v
    done < "/proc/$pid/status" 2>/dev/null || true
    sleep 0.002
  done
  wait "$pid"
  sync
  echo "$anon"
}

# split_pairs DATASET DIR: the split against one file, in pairs run back to back in turns (one
# file first, then the split first), outputs removed and synced untimed before each run, DIR on
# disk (fsynced outputs) or on tmpfs; prints each pair's "split_seconds one_seconds". A ratio
# taken within a pair holds while the machine's speed drifts from one pair to the next.
split_pairs() {
  local name=$1 dir=$2 file=$work/$1.rdb i first t0 t1 one split
  for i in $(seq 1 "$pairs"); do
    for first in one split; do
      [ $((i % 2)) = 1 ] || { [ $first = one ] && first=split || first=one; }
      rm -rf "$dir/$name.pair.rdb" "$dir/$name.pair.shards"
      sync
      t0=$EPOCHREALTIME
      if [ $first = one ]; then
        "$rdbrekey" convert "$file" -o "$dir/$name.pair.rdb" "${apps[@]}" -q
      else
        "$rdbrekey" convert "$file" --cluster 3 --output-dir "$dir/$name.pair.shards" "${apps[@]}" -q
      fi
      t1=$EPOCHREALTIME
      if [ $first = one ]; then one=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
      else split=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); fi
    done
    echo "$split $one"
  done
  rm -rf "$dir/$name.pair.rdb" "$dir/$name.pair.shards"
}
# The median, smallest and largest of the pairs' ratios (split / one file).
pair_ratios() { awk '{print $1 / $2}' "$1" | sort -g | awk '{v[++n] = $1} END {printf "%.3f %.3f %.3f %d", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, v[1], v[n], n}'; }
pairs=${PAIRS:-$([ $quick = 1 ] && echo 5 || echo 9)}

tools=(rdbrekey rdbrekey-cluster cp cp+fsync rdbrekey-mem rdbrekey-mem-t1 rdbrekey-mem-keep rdbrekey-cluster-mem cp-mem
       redis-check-rdb redis-server)
baseline=${BASELINE:-}
if [ -n "$baseline" ]; then
  [ -x "$baseline" ] || { echo "run.sh: BASELINE=$baseline is not an executable" >&2; exit 2; }
  tools=(rdbrekey rdbrekey@baseline "${tools[@]:1}")
fi
declare -A mem_sample mem_collide mem_split3 mem_split64
for spec in "${datasets[@]}"; do
  name=${spec%%:*}
  samples=$work/$name.samples
  : > "$samples"
  log "dataset $name ($(awk -v b="${file_bytes[$name]}" 'BEGIN{printf "%.0f", b/1e6}') MB): warm-up run of each tool"
  for tool in "${tools[@]}"; do run_timed "$tool" "$name"; done
  : > "$samples"
  for r in $(seq 1 "$rounds"); do
    log "dataset $name: round $r/$rounds"
    for tool in "${tools[@]}"; do run_timed "$tool" "$name"; done
  done
  log "dataset $name: split against one file, $pairs pairs on disk and $pairs on tmpfs"
  split_pairs "$name" "$work" > "$work/$name.pairs-disk"
  split_pairs "$name" "$shm" > "$work/$name.pairs-mem"
  mem_sample[$name]=$(sample_rdbrekey_memory "$name")
  # The collision check's cost: with --unmapped keep every output key is remembered (16 bytes
  # each); by default (one input, one db per application) nothing is.
  mem_collide[$name]=$(sample_rdbrekey_memory "$name" --unmapped keep)
  # Memory of the split: 3 and 64 primaries (each file has its own output buffer).
  mem_split3[$name]=$(sample_rdbrekey_split_memory "$name" 3)
  mem_split64[$name]=$(sample_rdbrekey_split_memory "$name" 64)
  rm -rf "$work/$name.converted.rdb" "$work/$name.cp.rdb" "$work/$name.shards"
done

# ---- resident memory of a large input read twice -------------------------------------------------

declare -A big_mem
big=$work/mixed-5m.rdb
big_apps=(-a 0=sess -a 1=b -a 2=c -a 3=d)
if [ $quick = 0 ]; then
  stamp="rdbgen $gen_sum --profile mixed --seed $seed --keys 5000000"
  if [ -f "$big" ] && [ -f "$big.meta" ] && [ "$(head -1 "$big.meta")" = "$stamp" ]; then
    log "dataset mixed-5m: reusing $big"
  else
    log "dataset mixed-5m: generating 5,000,000 keys into $big"
    rm -f "$big" "$big.meta"
    "$rdbgen" --profile mixed --seed "$seed" --keys 5000000 -o "$big" > "$work/mixed-5m.gen.txt"
    { echo "$stamp"; tail -1 "$work/mixed-5m.gen.txt"; } > "$big.meta"
  fi
  cat "$big" > /dev/null  # into the page cache, as the other datasets are
  # db 0 mapped to the prefix "sess": its session keys ("sess:...") are already under it, so the
  # collision check reads db 0 a second time, looking for keys that renaming puts onto them.
  for threads in 1 2; do
    log "dataset mixed-5m: peak memory, --threads $threads"
    big_mem[$threads]=$(sample_memory "$rdbrekey" convert "$big" -o "$work/mixed-5m.converted.rdb" "${big_apps[@]}" \
                        --force -q --threads "$threads")
    rm -f "$work/mixed-5m.converted.rdb"
  done
  "$rdbrekey" convert "$big" -o "$work/mixed-5m.converted.rdb" "${big_apps[@]}" --force > "$work/mixed-5m.convert.txt"
  rm -f "$work/mixed-5m.converted.rdb"
fi

# ---- report ------------------------------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
fs=$(df -PT "$work" | awk 'NR==2 {print $2 " on " $1}')
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -qv '^??' && echo " + uncommitted changes" || true)
elapsed=$(awk -v a="$t_script" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')

best_of() { awk -v t="$1" '$1==t{print $2}' "$2" | sort -g | head -1; }
max_rss_of() { awk -v t="$1" '$1==t{print $3}' "$2" | sort -g | tail -1; }
median_of() { awk -v t="$1" '$1==t{print $2}' "$2" | sort -g | awk '{v[++n] = $1} END {print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2}'; }

# targets NAME SAMPLES KEYS: issue 12's targets for this dataset, each with its measured ratio.
targets() {
  local name=$1 samples=$2 keys=$3
  local mem cpm t1 keep disk cpf check mem_goal rss anon
  mem=$(best_of rdbrekey-mem "$samples"); cpm=$(best_of cp-mem "$samples"); t1=$(best_of rdbrekey-mem-t1 "$samples")
  keep=$(best_of rdbrekey-mem-keep "$samples"); disk=$(best_of rdbrekey "$samples"); cpf=$(best_of cp+fsync "$samples")
  check=$(best_of redis-check-rdb "$samples")
  case $name in small) mem_goal=2.0 ;; huge-values) mem_goal=1.2 ;; *) mem_goal=1.5 ;; esac
  rss=$(for t in rdbrekey rdbrekey-mem rdbrekey-mem-t1 rdbrekey-mem-keep rdbrekey-cluster rdbrekey-cluster-mem; do max_rss_of $t "$samples"; done | sort -g | tail -1)
  anon=$(awk '{print $1}' <<<"${mem_sample[$name]}")
  echo "| target ($name) | goal | measured | met |"
  echo "|---|---:|---:|:-:|"
  awk -v mem="$mem" -v cpm="$cpm" -v t1="$t1" -v keep="$keep" -v disk="$disk" -v cpf="$cpf" -v check="$check" \
      -v goal="$mem_goal" -v keys="$keys" -v name="$name" -v rss="$rss" -v anon="$anon" 'BEGIN {
    yes = "yes"; no = "**no**"
    printf "| memory path: rdbrekey-mem / cp-mem | <= %.1f | %.2f | %s |\n", goal, mem / cpm, (mem / cpm <= goal) ? yes : no
    if (name == "small")
      printf "| keys/s on the memory path | >= 25 M | %.1f M | %s |\n", keys / mem / 1e6, (keys / mem >= 25e6) ? yes : no
    printf "| durable path: rdbrekey / cp+fsync | <= 1.15 | %.2f | %s |\n", disk / cpf, (disk / cpf <= 1.15) ? yes : no
    printf "| every key remembered: rdbrekey-mem-keep / rdbrekey-mem | <= 1.3 | %.2f | %s |\n", keep / mem, (keep / mem <= 1.3) ? yes : no
    printf "| redis-check-rdb / rdbrekey-mem | >= 5 | %.2f | %s |\n", check / mem, (check / mem >= 5) ? yes : no
    printf "| peak RSS with the mapped input (any rdbrekey run) | <= 256 MiB | %.0f MiB | %s |\n", rss / 1024, (rss <= 262144) ? yes : no
    printf "| own anonymous memory | <= 64 MiB | %.1f MiB | %s |\n", anon / 1024, (anon <= 65536) ? yes : no
    printf "| (not a target) 2 threads vs 1: rdbrekey-mem-t1 / rdbrekey-mem | | %.2f | |\n", t1 / mem
  }'
}

report() {
  echo "# rdbrekey end-to-end benchmark"
  echo
  echo "Generated by \`bench/run.sh$([ $quick = 1 ] && echo ' --quick')\` on $started_at (took ${elapsed} s)."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $cpu, $(nproc) cores (nproc)"
  echo "- memory: $mem; kernel: $(uname -sr); work dir $work: $fs"
  echo "- redis-server / redis-check-rdb: $(redis-server --version | sed 's/ sha=.*//')"
  echo "- rdbrekey: commit $commit$dirty, build $build (CMAKE_BUILD_TYPE=Release, RDBREKEY_LTO=${lto:-?})"
  echo
  echo "## Method"
  echo
  echo "- Datasets from \`rdbgen --seed $seed\` (deterministic), checked once to load into redis-server with"
  echo "  the expected keyspace, and rdbrekey's output too (db0 = all keys + 4 guard keys); not timed."
  echo "- Page cache warm: one untimed warm-up run of each tool first (dropping caches needs root; not done)."
  echo "  Every tool reads its input from the page cache; writes go to the same filesystem."
  echo "- Then $rounds rounds, tools alternating within each round; \`sync\` (untimed) after every run."
  echo "- The split (\`--cluster 3\`) against one file also in $pairs pairs per path, run back to back,"
  echo "  taking turns which goes first, outputs removed and synced (untimed) before each run: the ratio"
  echo "  within a pair holds while the machine's speed drifts; the median of the pairs' ratios is quoted."
  echo "- Wall time: bash \$EPOCHREALTIME around the command (µs); max RSS: GNU \`/usr/bin/time -f '%e %M'\`."
  echo "- redis-server: from process start to the first +PONG (it answers -LOADING while loading), polled"
  echo "  every 5 ms over one connection; then stopped with SIGTERM (no save points: it writes nothing)."
  echo "- rdbrekey fsyncs its output before renaming it into place; plain cp does not (its dirty pages are"
  echo "  written back during the untimed sync), so \`cp+fsync\` (cp, then sync of that file) is the fair floor."
  echo "- Two paths: durable (output on $fs, fsynced; floor: cp+fsync) and memory (output on tmpfs"
  echo "  $shm, the \"-mem\" rows; floor: cp-mem, cp to that tmpfs). Outputs are removed (untimed) before"
  echo "  each run, so no run pays for freeing the previous one's file."
  echo "- keys/min = keys in the input / best time; MB/s = input size / best time; x cp, x cp-mem, x check ="
  echo "  best time / best time of cp, of cp-mem, of redis-check-rdb."
  echo "- peak RSS (GNU time) of rdbrekey counts the pages of the mmap'ed input it has touched (page"
  echo "  cache, shared and reclaimable; rdbrekey unmaps what it has passed as it goes). \"anon\" is"
  echo "  its peak resident anonymous memory (/proc/PID/status RssAnon, sampled every ~2 ms in one extra run)."
  echo
  echo "Commands (IN = the dataset, in $work):"
  echo
  echo '```'
  echo "rdbrekey         $rdbrekey convert IN -o IN.converted.rdb ${apps[*]} --force -q"
  echo "rdbrekey-cluster $rdbrekey convert IN --cluster 3 --output-dir IN.shards ${apps[*]} --force -q"
  echo "rdbrekey-mem     $rdbrekey convert IN -o $shm/IN.converted.rdb ${apps[*]} -q"
  echo "rdbrekey-mem-t1  (the same) --threads 1"
  echo "rdbrekey-mem-keep (the same) --unmapped keep     (every written key remembered by the collision check)"
  echo "rdbrekey-cluster-mem $rdbrekey convert IN --cluster 3 --output-dir $shm/IN.shards ${apps[*]} -q"
  echo "cp-mem           cp IN $shm/IN.cp.rdb"
  [ -z "$baseline" ] || echo "rdbrekey@baseline $baseline convert IN -o IN.converted.rdb ${apps[*]} --force -q   ($(git -C "$(dirname "$baseline")" rev-parse --short HEAD 2>/dev/null || echo 'commit unknown'))"
  echo "cp               cp IN IN.cp.rdb"
  echo "cp+fsync         sh -c 'cp IN IN.cp.rdb && sync IN.cp.rdb'"
  echo "redis-check-rdb  redis-check-rdb IN"
  echo "redis-server     redis-server --port PORT --bind 127.0.0.1 --dir DIR --dbfilename IN --save '' --appendonly no"
  echo "                 (until PING answers +PONG), then kill -TERM"
  for spec in "${datasets[@]}"; do
    name=${spec%%:*}
    echo "dataset          $rdbgen --profile $name --seed $seed --keys ${spec##*:} -o $work/$name.rdb"
  done
  echo '```'
  for spec in "${datasets[@]}"; do
    name=${spec%%:*}
    local samples=$work/$name.samples keys=${expect_total[$name]} bytes=${file_bytes[$name]}
    echo
    echo "## $name: $(commas "$keys") keys, $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}') MB"
    echo
    sed -n 2,3p "$work/$name.gen.txt" | sed 's/^ */    /'
    echo
    echo "| tool | best s | median s | keys/min | MB/s | x cp | x cp+fsync | x cp-mem | x check | peak RSS |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local cp_best check_best cpf_best cpm_best
    cp_best=$(awk '$1=="cp"{print $2}' "$samples" | sort -g | head -1)
    cpm_best=$(awk '$1=="cp-mem"{print $2}' "$samples" | sort -g | head -1)
    cpf_best=$(awk '$1=="cp+fsync"{print $2}' "$samples" | sort -g | head -1)
    check_best=$(awk '$1=="redis-check-rdb"{print $2}' "$samples" | sort -g | head -1)
    for tool in "${tools[@]}"; do
      # Sorted times of this tool (mawk has no asort), then best / median / max RSS.
      awk -v t="$tool" '$1 == t {print $2, $3}' "$samples" | sort -g |
        awk -v t="$tool" -v keys="$keys" -v bytes="$bytes" -v cpb="$cp_best" -v cfb="$cpf_best" -v cmb="$cpm_best" -v ckb="$check_best" -v mem="${mem_sample[$name]}" '
        { v[++n] = $1; if ($2 > rss) rss = $2 }
        END {
          best = v[1]
          med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
          kpm = keys / best * 60
          if (kpm >= 1e6) kpm_s = sprintf("%.1f M", kpm / 1e6)
          else if (kpm >= 1e3) kpm_s = sprintf("%.1f k", kpm / 1e3)
          else kpm_s = sprintf("%.0f", kpm)
          peak = sprintf("%.0f MB", rss / 1024)
          if (t == "rdbrekey") { split(mem, m, " "); peak = peak sprintf(" (anon %.1f MB)", m[1] / 1024) }
          printf "| %s | %.3f | %.3f | %s | %.0f | %.2f | %.2f | %.2f | %.2f | %s |\n", t, best, med, kpm_s, bytes / 1e6 / best, best / cpb, best / cfb, best / cmb, best / ckb, peak
        }'
    done
    echo
    targets "$name" "$samples" "$keys"
    echo
    awk -v keys="$keys" -v a="${mem_sample[$name]}" -v b="${mem_collide[$name]}" 'BEGIN {
      split(a, x, " "); split(b, y, " ")
      printf "Collision check: peak anonymous memory %.1f MB by default (nothing remembered), %.1f MB with\n", x[1] / 1024, y[1] / 1024
      printf "--unmapped keep (every key remembered): %.1f bytes per key.\n", (y[1] - x[1]) * 1024 / keys }'
    awk -v a="${mem_split3[$name]}" -v b="${mem_split64[$name]}" -v x="${mem_sample[$name]}" 'BEGIN {
      split(x, m, " ")
      printf "Split into cluster files: peak anonymous memory %.1f MB with 3 primaries, %.1f MB with 64 (one file: %.1f MB).\n", a / 1024, b / 1024, m[1] / 1024 }'
    awk -v one="$(best_of rdbrekey "$samples")" -v many="$(best_of rdbrekey-cluster "$samples")" \
        -v onem="$(median_of rdbrekey "$samples")" -v manym="$(median_of rdbrekey-cluster "$samples")" \
        -v one_mem="$(best_of rdbrekey-mem "$samples")" -v many_mem="$(best_of rdbrekey-cluster-mem "$samples")" \
        -v onem_mem="$(median_of rdbrekey-mem "$samples")" -v manym_mem="$(median_of rdbrekey-cluster-mem "$samples")" 'BEGIN {
      printf "Split into 3 files / one file, in the rounds above (best times): %.3f (median / median %.3f)\n", many / one, manym / onem
      printf "The same on the memory path (tmpfs, no fsync: CPU only): rdbrekey-cluster-mem / rdbrekey-mem %.3f (median / median %.3f)\n", many_mem / one_mem, manym_mem / onem_mem }'
    read -r pd_med pd_min pd_max pd_n <<< "$(pair_ratios "$work/$name.pairs-disk")"
    read -r pm_med pm_min pm_max pm_n <<< "$(pair_ratios "$work/$name.pairs-mem")"
    awk -v d="$pd_med" -v dmin="$pd_min" -v dmax="$pd_max" -v n="$pd_n" -v m="$pm_med" -v mmin="$pm_min" -v mmax="$pm_max" 'BEGIN {
      printf "Split into 3 files / one file, %d pairs back to back (median of the pairs ratios, smallest-largest): on disk %.3f (%.3f-%.3f), on tmpfs %.3f (%.3f-%.3f); target <= 1.15 (on disk): %s\n", n, d, dmin, dmax, m, mmin, mmax, (d <= 1.15) ? "met" : "not met" }'
    echo
    echo "rdbrekey's own summary (first conversion):"
    echo
    echo '```'
    cat "$work/$name.convert.txt"
    echo '```'
  done
  if [ $quick = 0 ]; then
    echo
    echo "## mixed-5m: peak memory of a 5,000,000-key input with a database read twice"
    echo
    echo "\`$rdbrekey convert $big -o OUT ${big_apps[*]} --threads N\`: db 0's session keys (\"sess:...\")"
    echo "are already under the prefix of db 0, so the collision check reads db 0 a second time."
    echo
    echo "| threads | seconds | peak RSS (VmHWM) | peak file-backed (RssFile) | peak anonymous (RssAnon) |"
    echo "|---:|---:|---:|---:|---:|"
    for threads in 1 2; do
      awk -v t="$threads" -v m="${big_mem[$threads]}" 'BEGIN { split(m, x, " ");
        printf "| %s | %.2f | %.0f MiB | %.0f MiB | %.1f MiB |\n", t, x[1], x[4] / 1024, x[3] / 1024, x[2] / 1024 }'
    done
    echo
    echo '```'
    sed -n 2,3p "$work/mixed-5m.gen.txt" 2>/dev/null | sed 's/^ *//'
    cat "$work/mixed-5m.convert.txt"
    echo '```'
  fi
  echo
  echo "The targets of the performance work, which of them these numbers meet and what limits the"
  echo "others (with profiles): bench/README.md."
}

report | tee "$results"
log "wrote $results"
