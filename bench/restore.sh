#!/usr/bin/env bash
# End-to-end benchmark of `rdbrekey restore` (RDB file -> RESTORE commands into a live server),
# on two of bench/run.sh's generated datasets:
#   small        10,000,000 keys of mostly short strings (TTL on a third, Bull keys on a tenth)
#   mixed         1,000,000 keys shaped like an application (JSON strings, collections, streams,
#                 a function library, a few 2-8 MB strings)
# It measures:
#   1. standalone: rdbrekey restore into one redis-server, against `redis-cli --pipe` streaming a
#      ready-made file of the same RESTORE commands in the same order (the best a client can do
#      against that server), recorded from rdbrekey's own connection by a proxy
#      (bench/resp_capture.py). Target: rdbrekey <= 1.3 x redis-cli --pipe. For reference also
#      `redis-cli --pipe` of the same keys in the server's SCAN order (bench/restore_dump.py),
#      an order no client reading a backup has: the server inserts keys faster in it.
#   2. cluster: rdbrekey restore into a running 3-primary loopback cluster (routed by hash slot),
#      against the floor: the same three nodes restarted on their per-shard RDB files (made by
#      `rdbrekey convert --cluster`), from start until the slowest node answers PING (not
#      -LOADING). Also keys/s against the online migrator (~3.5 M keys/min) and RedisShake's
#      reported ~56 k keys/s.
#   3. peak memory (max RSS, GNU time) of every rdbrekey restore run. Target: < 64 MiB.
#
# Usage: bench/restore.sh [--quick] [WORK_DIR]    (default WORK_DIR: /tmp/rdbrekey-restore-bench)
#   --quick     smaller datasets (small 1,000,000 / mixed 100,000 keys) and 3 rounds instead of 5
# Environment: BUILD_DIR (where rdbrekey and rdbgen are; default <project>/build; nothing is
#   built), ROUNDS (rounds per measurement), SEED (default 1), DATASETS (default "mixed small";
#   e.g. DATASETS=mixed for one of them).
#
# Needs the built binaries, redis-server and redis-cli (Debian: redis-server, redis-tools),
# python3 (bench/resp_capture.py, bench/restore_dump.py: standard library only) and GNU time (installed if missing).
# Writes bench/RESTORE_RESULTS.md (and prints the same).
#
# Method: rdbrekey and rdbgen are copied into WORK_DIR first (a rebuild during the run changes
# nothing). Datasets are generated once (cached while rdbgen and its arguments are unchanged).
# Servers: redis-server --save '' --appendonly no on 127.0.0.1, started in the background and
# stopped by PID (also on exit). Per dataset and target: one untimed warm-up run of each side,
# then ROUNDS rounds, the two sides one after the other (the order swapped every round, so that
# drift affects both alike). Before every run, untimed: FLUSHALL SYNC + FUNCTION FLUSH SYNC on
# every node (restore) or stopping the nodes (load); after every run, untimed: the key count
# (sum of DBSIZE) must equal the dataset's keys + 4 start-up guards. Wall time: bash
# $EPOCHREALTIME around the command; max RSS: GNU time -f %M. Ratios: best / best.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
work=/tmp/rdbrekey-restore-bench
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    -*) echo "restore.sh: unknown option $arg" >&2; exit 2 ;;
    *) work=$arg ;;
  esac
done
rounds=${ROUNDS:-$([ $quick = 1 ] && echo 3 || echo 5)}
seed=${SEED:-1}
build=${BUILD_DIR:-$root/build}
read -r -a dataset_names <<<"${DATASETS:-mixed small}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
results=$root/bench/RESTORE_RESULTS.md
started_at=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t_script=$EPOCHREALTIME

commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "restore.sh: $*" >&2; exit 1; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f", b-a}'; }

# ---- prerequisites and binaries ----------------------------------------------------------------

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (the 'time' package)"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq time >/dev/null
fi
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install redis-server redis-tools python3)"
done
[ -x "$build/rdbrekey" ] && [ -x "$build/rdbgen" ] || die "no rdbrekey/rdbgen in $build (build them first)"
mkdir -p "$work/bin"
cp -p "$build/rdbrekey" "$build/rdbgen" "$work/bin/"
rdbrekey=$work/bin/rdbrekey
rdbgen=$work/bin/rdbgen
dumper=$root/bench/restore_dump.py
capture=$root/bench/resp_capture.py
binary_info="md5 $(md5sum "$rdbrekey" | cut -c1-12), built $(date -u -r "$build/rdbrekey" '+%Y-%m-%d %H:%M UTC')"

# ---- servers -----------------------------------------------------------------------------------

declare -A pid_of=()          # port -> PID of the redis-server listening there
capture_pid=""                # the recording proxy (bench/resp_capture.py), while it runs
cleanup() {
  local port
  [ -z "$capture_pid" ] || kill "$capture_pid" 2>/dev/null || true
  for port in "${!pid_of[@]}"; do kill "${pid_of[$port]}" 2>/dev/null || true; done
  for port in "${!pid_of[@]}"; do wait "${pid_of[$port]}" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

exec {nap_fd}<> <(:)            # read -t on it: a sleep without a fork (polling loops)
nap() { read -r -t "$1" -u "$nap_fd" _ || true; }

# free_port: a loopback port nobody listens on, nor on port + 10000 (a cluster node's bus port).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null && continue
    echo "$port"; return
  done
}

# server_start PORT DIR [redis-server options...]: starts redis-server in the background
# (nothing saved: no save points, no AOF), logging to DIR/redis.log (truncated).
server_start() {
  local port=$1 dir=$2
  shift 2
  : > "$dir/redis.log"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize no --logfile "$dir/redis.log" "$@" &
  pid_of[$port]=$!
}

server_stop() {
  local port=$1 pid=${pid_of[$1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "pid_of[$port]"
}

# wait_ready T0 PORT...: polls each port with PING over one connection (no process per poll)
# until it answers +PONG (a loading server answers -LOADING); prints the seconds from T0 to the
# slowest one's +PONG. Fails when a server exits, or after 30 minutes.
wait_ready() {
  local t0=$1 i fd line port t_last=$1 deadline=$(( ${EPOCHREALTIME%.*} + 1800 ))
  shift
  local -a ports=("$@") fds=() ready=()
  local left=${#ports[@]}
  while [ "$left" -gt 0 ]; do
    for i in "${!ports[@]}"; do
      [ -n "${ready[$i]:-}" ] && continue
      port=${ports[$i]}
      kill -0 "${pid_of[$port]}" 2>/dev/null || { echo "redis-server on port $port exited" >&2; return 1; }
      if [ -z "${fds[$i]:-}" ]; then
        { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || continue
        fds[$i]=$fd
      fi
      fd=${fds[$i]}
      printf 'PING\r\n' >&"$fd" && IFS= read -r line <&"$fd" || { exec {fd}>&-; fds[$i]=""; continue; }
      if [ "${line%$'\r'}" = "+PONG" ]; then
        ready[$i]=$EPOCHREALTIME
        t_last=${ready[$i]}
        exec {fd}>&-
        left=$((left - 1))
      fi
    done
    [ "$left" -gt 0 ] || break
    [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] || { echo "servers not ready after 30 minutes" >&2; return 1; }
    nap 0.005
  done
  secs "$t0" "$t_last"
}

rcli() { local port=$1; shift; redis-cli -p "$port" "$@" | tr -d '\r'; }

# flush PORT...: empties each server (keys and function libraries), synchronously.
flush() {
  local port
  for port in "$@"; do
    [ "$(rcli "$port" flushall sync)" = OK ] && [ "$(rcli "$port" function flush sync)" = OK ] ||
      die "cannot flush the server on port $port"
  done
}

# keys_in PORT...: the sum of DBSIZE.
keys_in() {
  local port n=0
  for port in "$@"; do n=$((n + $(rcli "$port" dbsize))); done
  echo "$n"
}

check_keys() {   # check_keys WHAT EXPECTED PORT...
  local what=$1 expected=$2 got
  shift 2
  got=$(keys_in "$@")
  [ "$got" = "$expected" ] || die "$what: the target holds $got keys, expected $expected"
}

# wait_cluster_ok PORT...: until every node says cluster_state:ok (a restarted primary waits
# about 2 s before it serves again).
wait_cluster_ok() {
  local port i
  for i in $(seq 1 600); do
    for port in "$@"; do
      rcli "$port" cluster info | grep -q '^cluster_state:ok' || { nap 0.1; continue 2; }
    done
    return 0
  done
  die "cluster not ok after 60 s"
}

# run_sampled OUTFILE COMMAND...: runs COMMAND (its output into OUTFILE), sampling its resident
# anonymous and file-backed memory (/proc/PID/status, every ~10 ms); prints "anon_kb file_kb
# hwm_kb". Untimed runs only.
run_sampled() {
  local out=$1 pid k v rest anon=0 filep=0 hwm=0
  shift
  "$@" > "$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    while read -r k v rest; do
      case $k in
        RssAnon:) [ "$v" -gt "$anon" ] && anon=$v ;;
        RssFile:) [ "$v" -gt "$filep" ] && filep=$v ;;
        VmHWM:) [ "$v" -gt "$hwm" ] && hwm=$v ;;
      esac
    done < "/proc/$pid/status" 2>/dev/null || true
    nap 0.01
  done
  wait "$pid" || return
  echo "$anon $filep $hwm"
}

# ---- datasets ----------------------------------------------------------------------------------

declare -A size_of=([small]=$([ $quick = 1 ] && echo 1000000 || echo 10000000)
                    [mixed]=$([ $quick = 1 ] && echo 100000 || echo 1000000))
gen_sum=$(md5sum "$rdbgen" | cut -c1-32)
declare -A expect file_bytes gen_line
for name in "${dataset_names[@]}"; do
  [ -n "${size_of[$name]:-}" ] || die "unknown dataset $name (small, mixed)"
  keys=${size_of[$name]}
  file=$work/$name.rdb
  stamp="rdbgen $gen_sum --profile $name --seed $seed --keys $keys"
  if [ -f "$file" ] && [ -f "$file.meta" ] && [ "$(head -1 "$file.meta")" = "$stamp" ]; then
    log "dataset $name: reusing $file"
  else
    log "dataset $name: generating $keys keys into $file"
    rm -f "$file" "$file.meta"
    "$rdbgen" --profile "$name" --seed "$seed" --keys "$keys" -o "$file" > "$work/$name.gen.txt"
    { echo "$stamp"; tail -1 "$work/$name.gen.txt"; sed -n 2p "$work/$name.gen.txt"; } > "$file.meta"
  fi
  total=$(sed -n '2s/.* total=\([0-9]*\).*/\1/p' "$file.meta")
  expect[$name]=$((total + 4))           # every key, renamed, plus one guard per application
  file_bytes[$name]=$(stat -c %s "$file")
  gen_line[$name]=$(sed -n 3p "$file.meta" | sed 's/^ *//')
done
apps=(-a 0=a -a 1=b -a 2=c -a 3=d)

# ---- the servers: one standalone, one 3-primary cluster ----------------------------------------

mkdir -p "$work/standalone"
sport=$(free_port)
server_start "$sport" "$work/standalone"
wait_ready "$EPOCHREALTIME" "$sport" >/dev/null || die "standalone redis-server did not start"
log "standalone redis-server on port $sport"

cports=()
for i in 1 2 3; do
  dir=$work/cluster/node$i
  rm -rf "$dir"
  mkdir -p "$dir"
  port=$(free_port)
  while [[ " ${cports[*]} " == *" $port "* ]]; do port=$(free_port); done
  cports+=("$port")
done
cluster_start() {   # starts the three nodes on whatever dump.rdb their directories hold
  local i
  for i in 0 1 2; do
    server_start "${cports[$i]}" "$work/cluster/node$((i + 1))" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 5000
  done
}
cluster_stop() { local p; for p in "${cports[@]}"; do server_stop "$p"; done; }
cluster_start
wait_ready "$EPOCHREALTIME" "${cports[@]}" >/dev/null || die "cluster nodes did not start"
redis-cli --cluster create "${cports[@]/#/127.0.0.1:}" --cluster-yes > "$work/cluster/create.log" 2>&1 ||
  { cat "$work/cluster/create.log" >&2; die "redis-cli --cluster create failed"; }
wait_cluster_ok "${cports[@]}"
rcli "${cports[0]}" cluster nodes > "$work/cluster/nodes.txt"
log "3-primary cluster on ports ${cports[*]}"

# ---- timed runs --------------------------------------------------------------------------------

tf=$work/time.out
# run_timed SIDE DATASET: one untimed preparation, one timed run, one untimed check; appends
# "side seconds max_rss_kb [log_seconds]" to $samples.
run_timed() {
  local side=$1 name=$2 in=$work/$2.rdb t0 t1 extra="" i
  case $side in
    rdbrekey)
      flush "$sport"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$rdbrekey" restore "$in" --to "redis://127.0.0.1:$sport" \
        "${apps[@]}" -q --report "$work/report.json" --force ||
        die "rdbrekey restore into the standalone server failed (exit $?)"
      t1=$EPOCHREALTIME
      check_keys "rdbrekey restore ($name)" "${expect[$name]}" "$sport"
      ;;
    redis-cli-pipe|redis-cli-pipe-scan)
      local resp=$work/$name.resp
      [ "$side" = redis-cli-pipe-scan ] && resp=$work/$name.scan.resp
      flush "$sport"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" redis-cli -p "$sport" --pipe < "$resp" > "$work/pipe.out" 2>&1 ||
        { cat "$work/pipe.out" >&2; die "redis-cli --pipe failed"; }
      t1=$EPOCHREALTIME
      grep -q '^errors: 0, replies:' "$work/pipe.out" || { cat "$work/pipe.out" >&2; die "redis-cli --pipe: errors"; }
      check_keys "redis-cli --pipe ($name)" "${expect[$name]}" "$sport"
      ;;
    cluster-restore)
      flush "${cports[@]}"
      t0=$EPOCHREALTIME
      /usr/bin/time -f '%e %M' -o "$tf" "$rdbrekey" restore "$in" --to "redis://127.0.0.1:${cports[0]}" \
        "${apps[@]}" -q --report "$work/report.json" --force ||
        die "rdbrekey restore into the cluster failed (exit $?)"
      t1=$EPOCHREALTIME
      check_keys "rdbrekey restore into the cluster ($name)" "${expect[$name]}" "${cports[@]}"
      ;;
    cluster-load)
      cluster_stop
      for i in 0 1 2; do
        ln -f "$work/$name.shards/"shard-*-"127.0.0.1-${cports[$i]}.rdb" "$work/cluster/node$((i + 1))/dump.rdb"
      done
      sync
      t0=$EPOCHREALTIME
      cluster_start
      t1=$(wait_ready "$t0" "${cports[@]}") || die "cluster nodes did not load their shards ($name)"
      t1=$(awk -v a="$t0" -v d="$t1" 'BEGIN{printf "%.6f", a+d}')
      # The servers' own figure: "DB loaded from disk: X seconds", the slowest node.
      extra=$(cat "$work"/cluster/node*/redis.log | sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' |
        sort -g | tail -1)
      echo "0 0" > "$tf"
      check_keys "cluster load ($name)" "${expect[$name]}" "${cports[@]}"
      wait_cluster_ok "${cports[@]}"
      ;;
  esac
  echo "$side $(secs "$t0" "$t1") $(awk '{print $2}' "$tf") $extra" >> "$samples"
  sync
}

declare -A mem_standalone mem_cluster
for name in "${dataset_names[@]}"; do
  in=$work/$name.rdb
  samples=$work/$name.samples
  : > "$samples"

  # Standalone. The first restore (untimed, memory sampled) also fills the server for the dump.
  log "dataset $name ($(commas "${expect[$name]}") keys with the guards): first restore into the standalone server"
  flush "$sport"
  mem_standalone[$name]=$(run_sampled "$work/$name.standalone.txt" "$rdbrekey" restore "$in" \
    --to "redis://127.0.0.1:$sport" "${apps[@]}" --report "$work/$name.standalone.json" --force) ||
    { cat "$work/$name.standalone.txt" >&2; die "rdbrekey restore failed"; }
  check_keys "first rdbrekey restore ($name)" "${expect[$name]}" "$sport"
  log "  dumping it in SCAN order as RESTORE commands for redis-cli --pipe (reference)"
  python3 "$dumper" --port "$sport" --expect "${expect[$name]}" "$work/$name.scan.resp" > "$work/$name.dump.txt"
  log "  recording the commands of a restore through a proxy, for redis-cli --pipe"
  flush "$sport"
  rm -rf "$work/capture" "$work/capture.port"
  python3 "$capture" proxy --target-port "$sport" --port-file "$work/capture.port" --record "$work/capture" &
  capture_pid=$!
  for i in $(seq 1 100); do [ -s "$work/capture.port" ] && break; nap 0.1; done
  [ -s "$work/capture.port" ] || die "resp_capture.py proxy did not start"
  "$rdbrekey" restore "$in" --to "redis://127.0.0.1:$(cat "$work/capture.port")" "${apps[@]}" -q --force ||
    die "rdbrekey restore through the recording proxy failed"
  kill "$capture_pid"; wait "$capture_pid" 2>/dev/null || true
  capture_pid=""
  check_keys "rdbrekey restore through the recording proxy ($name)" "${expect[$name]}" "$sport"
  python3 "$capture" extract --expect "${expect[$name]}" "$work/$name.resp" "$work/capture" > "$work/$name.capture.txt"
  rm -rf "$work/capture"
  log "  warm-up runs of redis-cli --pipe"
  samples=$work/warmup.samples run_timed redis-cli-pipe "$name"
  samples=$work/warmup.samples run_timed redis-cli-pipe-scan "$name"
  for r in $(seq 1 "$rounds"); do
    log "  standalone round $r/$rounds"
    case $((r % 3)) in
      1) order=(rdbrekey redis-cli-pipe redis-cli-pipe-scan) ;;
      2) order=(redis-cli-pipe redis-cli-pipe-scan rdbrekey) ;;
      0) order=(redis-cli-pipe-scan rdbrekey redis-cli-pipe) ;;
    esac
    for side in "${order[@]}"; do run_timed "$side" "$name"; done
  done
  flush "$sport"

  # Cluster: the shard files for the floor (untimed), then a warm-up of each side, then rounds.
  log "dataset $name: cluster: converting into one RDB per primary (rdbrekey convert --cluster)"
  rm -rf "$work/$name.shards"
  "$rdbrekey" convert "$in" --cluster "$work/cluster/nodes.txt" --output-dir "$work/$name.shards" \
    "${apps[@]}" -q
  flush "${cports[@]}"
  mem_cluster[$name]=$(run_sampled "$work/$name.cluster.txt" "$rdbrekey" restore "$in" \
    --to "redis://127.0.0.1:${cports[0]}" "${apps[@]}" --report "$work/$name.cluster.json" --force) ||
    { cat "$work/$name.cluster.txt" >&2; die "rdbrekey restore into the cluster failed"; }
  check_keys "first rdbrekey restore into the cluster ($name)" "${expect[$name]}" "${cports[@]}"
  log "  warm-up load of the shard files"
  samples=$work/warmup.samples run_timed cluster-load "$name"
  for r in $(seq 1 "$rounds"); do
    log "  cluster round $r/$rounds"
    if [ $((r % 2)) = 1 ]; then order=(cluster-restore cluster-load); else order=(cluster-load cluster-restore); fi
    for side in "${order[@]}"; do run_timed "$side" "$name"; done
  done
  flush "${cports[@]}"
  rm -f "$work/cluster"/node*/dump.rdb
done
cluster_stop
server_stop "$sport"

# ---- report ------------------------------------------------------------------------------------

# summary SIDE FILE: "best median max_rss_kb best_extra count" of SIDE's samples.
summary() {
  awk -v s="$1" '$1 == s {print $2, $3, ($4 == "" ? 0 : $4)}' "$2" | sort -g |
    awk '{ v[++n] = $1; if ($2 > rss) rss = $2; if (n == 1 || $3 < ex) ex = $3 }
      END { med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%.3f %.3f %d %.3f %d\n", v[1], med, rss, ex, n }'
}
kps() { awk -v k="$1" -v t="$2" 'BEGIN{ r = k / t; if (r >= 1e6) printf "%.2f M", r / 1e6; else printf "%.1f k", r / 1e3 }'; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f MiB", k / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src include tools 2>/dev/null | grep -q . && echo " + uncommitted changes in src/include/tools" || true)
elapsed=$(awk -v a="$t_script" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')
migrator=58333      # ~3.5 M keys/min, the online migrator
shake=56000         # RedisShake's reported figure

report() {
  echo "# rdbrekey restore benchmark"
  echo
  echo "Generated by \`$([ -n "${DATASETS:-}" ] && echo "DATASETS='$DATASETS' ")bench/restore.sh$([ $quick = 1 ] && echo ' --quick')\` on $started_at (took ${elapsed} s)."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $cpu, $(nproc) cores (shared, noisy); memory: $mem; kernel: $(uname -sr)"
  echo "- $(redis-server --version | sed 's/ sha=.*//'), $(redis-cli --version); one standalone server and"
  echo "  three cluster primaries, all on 127.0.0.1 of this machine (they share its 2 cores with rdbrekey)"
  echo "- rdbrekey: $build/rdbrekey ($binary_info), copied to $work/bin; the work tree at run time:"
  echo "  commit $commit$dirty (the binary may have been built from another state)"
  echo
  echo "## Method"
  echo
  echo "- Datasets: \`rdbgen --profile NAME --seed $seed --keys N\` (as bench/run.sh), mapped \`${apps[*]}\`;"
  echo "  expected key count after every run = the dataset's keys + 4 start-up guards (checked with DBSIZE, untimed)."
  echo "- Standalone: the baseline is \`redis-cli --pipe\` streaming a ready-made file of the very commands"
  echo "  rdbrekey sends, in the order it sends them: an untimed \`rdbrekey restore\` through a recording proxy"
  echo "  (\`bench/resp_capture.py\`) gives them; its RESTORE and FUNCTION RESTORE commands make the file (the"
  echo "  handshake, INFO and DBSIZE are left out). That is the best a client can do with the same work."
  echo "- For reference, \`bench/restore_dump.py\` dumps the filled server (SCAN; DUMP + PEXPIRETIME per key)"
  echo "  into the same kind of file, keys in SCAN order. The server inserts keys in its own hash order"
  echo "  faster (RESTORE's usec_per_call in INFO commandstats falls by about a third), an order no client"
  echo "  reading a backup has; the row shows what that order alone is worth."
  echo "- Cluster: 3 primaries, no replicas. Floor = \`rdbrekey convert --cluster nodes.txt\` (untimed) gives one RDB per"
  echo "  primary; each is hard-linked as its node's dump.rdb, the nodes are stopped (untimed), then started together:"
  echo "  wall time from start until the slowest node answers PING with +PONG (not -LOADING). The nodes' own"
  echo "  \"DB loaded from disk\" figure (slowest node) is shown beside it. The three load at once on 2 cores, as"
  echo "  the restore's three nodes work at once."
  echo "- Before every run (untimed): FLUSHALL SYNC + FUNCTION FLUSH SYNC on every node (restore) or stopping the"
  echo "  nodes (load). One untimed warm-up run of each side, then $rounds rounds, the sides one after the other,"
  echo "  the order rotated every round; \`sync\` after every run. Best = min, x = best / best."
  echo "- Wall time: bash \$EPOCHREALTIME around the command; peak memory: GNU \`/usr/bin/time -f %M\` (max RSS, which"
  echo "  includes the pages of the mmap'ed input rdbrekey has touched). \"anon / file\" = peak RssAnon / RssFile from"
  echo "  /proc/PID/status, sampled every ~10 ms during the untimed first restore."
  echo
  echo "Commands (IN = the dataset in $work, P = the server's port, P1 = a cluster node's):"
  echo
  echo '```'
  echo "rdbrekey restore   rdbrekey restore IN --to redis://127.0.0.1:P ${apps[*]} -q --report report.json --force"
  echo "redis-cli --pipe   redis-cli -p P --pipe < IN.resp        (rdbrekey's commands, its order)"
  echo "  (SCAN order)     redis-cli -p P --pipe < IN.scan.resp   (restore_dump.py: the server's SCAN order)"
  echo "cluster restore    rdbrekey restore IN --to redis://127.0.0.1:P1 ${apps[*]} -q --report report.json --force"
  echo "cluster shards     rdbrekey convert IN --cluster nodes.txt --output-dir IN.shards ${apps[*]} -q"
  echo "cluster load       redis-server --port P --bind 127.0.0.1 --save '' --appendonly no --dir NODE_DIR --daemonize no"
  echo "                     --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000  (x3, until +PONG)"
  for name in "${dataset_names[@]}"; do
    echo "dataset            rdbgen --profile $name --seed $seed --keys ${size_of[$name]} -o $name.rdb"
  done
  echo '```'

  local name rb rmed rrss rn pb pmed prss pn sb smed srss sn cb cmed crss cn lb lmed llog ln
  for name in "${dataset_names[@]}"; do
    local samples=$work/$name.samples keys=${expect[$name]}
    read -r rb rmed rrss _ rn <<<"$(summary rdbrekey "$samples")"
    read -r pb pmed prss _ pn <<<"$(summary redis-cli-pipe "$samples")"
    read -r sb smed srss _ sn <<<"$(summary redis-cli-pipe-scan "$samples")"
    read -r cb cmed crss _ cn <<<"$(summary cluster-restore "$samples")"
    read -r lb lmed _ llog ln <<<"$(summary cluster-load "$samples")"
    echo
    echo "## $name: $(commas "$keys") keys restored, RDB $(awk -v b="${file_bytes[$name]}" 'BEGIN{printf "%.1f", b/1e6}') MB"
    echo
    echo "    ${gen_line[$name]}"
    echo
    echo "### Into one standalone server ($rn / $pn rounds)"
    echo
    echo "| side | best s | median s | keys/s (best) | x redis-cli --pipe | max RSS |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| rdbrekey restore | $rb | $rmed | $(kps "$keys" "$rb") | **$(ratio "$rb" "$pb")** | $(mib "$rrss") |"
    echo "| redis-cli --pipe (rdbrekey's commands in its order, $(awk -v b="$(stat -c %s "$work/$name.resp")" 'BEGIN{printf "%.0f", b/1e6}') MB) | $pb | $pmed | $(kps "$keys" "$pb") | 1.00 | $(mib "$prss") |"
    echo "| (reference) redis-cli --pipe, keys in the server's SCAN order | $sb | $smed | $(kps "$keys" "$sb") | $(ratio "$sb" "$pb") | $(mib "$srss") |"
    echo
    echo "Target rdbrekey <= 1.3 x redis-cli --pipe: $(awk -v a="$rb" -v b="$pb" 'BEGIN{print (a / b <= 1.3) ? "met" : "not met"}') ($(ratio "$rb" "$pb") x; median / median $(ratio "$rmed" "$pmed") x)."
    echo "Against the SCAN-order file (reference): $(ratio "$rb" "$sb") x (median / median $(ratio "$rmed" "$smed") x)."
    echo
    echo "### Into a 3-primary cluster ($cn / $ln rounds)"
    echo
    echo "| side | best s | median s | keys/s (best) | x floor | max RSS |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| rdbrekey restore (routed by slot) | $cb | $cmed | $(kps "$keys" "$cb") | **$(ratio "$cb" "$lb")** | $(mib "$crss") |"
    echo "| floor: the 3 nodes load their shard RDBs (start -> +PONG, slowest) | $lb | $lmed | $(kps "$keys" "$lb") | 1.00 | |"
    echo "| (the nodes' log, \"DB loaded from disk\", slowest node, best) | $llog | | $(kps "$keys" "$llog") | | |"
    echo
    echo "rdbrekey restore into the cluster: $(kps "$keys" "$cb") keys/s = $(ratio "$(awk -v k="$keys" -v t="$cb" 'BEGIN{print k/t}')" "$migrator") x the online"
    echo "migrator (~3.5 M keys/min = 58.3 k keys/s), $(ratio "$(awk -v k="$keys" -v t="$cb" 'BEGIN{print k/t}')" "$shake") x RedisShake's reported ~56 k keys/s;"
    echo "into the standalone server: $(kps "$keys" "$rb") keys/s = $(ratio "$(awk -v k="$keys" -v t="$rb" 'BEGIN{print k/t}')" "$migrator") x / $(ratio "$(awk -v k="$keys" -v t="$rb" 'BEGIN{print k/t}')" "$shake") x."
    echo
    echo "rdbrekey's summary (first restore, standalone, then cluster):"
    echo
    echo '```'
    cat "$work/$name.standalone.txt"
    echo
    cat "$work/$name.cluster.txt"
    echo '```'
  done

  echo
  echo "## Peak memory of rdbrekey restore (target < 64 MiB)"
  echo
  echo "| dataset | target | max RSS, all timed runs (GNU time) | first run: peak anon / file (sampled) | met (max RSS < 64 MiB)? |"
  echo "|---|---|---:|---:|---|"
  for name in "${dataset_names[@]}"; do
    local samples=$work/$name.samples
    for target in standalone cluster; do
      local side=rdbrekey sampled=${mem_standalone[$name]}
      [ $target = cluster ] && side=cluster-restore sampled=${mem_cluster[$name]}
      read -r _ _ rss _ _ <<<"$(summary "$side" "$samples")"
      read -r anon filep _ <<<"$sampled"
      echo "| $name | $target | $(mib "$rss") | $(mib "$anon") / $(mib "$filep") | $(awk -v k="$rss" 'BEGIN{print (k < 65536) ? "yes" : "no"}') |"
    done
  done
}

report | tee "$results"
log "wrote $results"
