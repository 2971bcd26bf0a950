#!/usr/bin/env bash
# Makes fixtures/sample.rdb: a small multi-database dump shaped like an open-condo 2.x Redis host,
# written by a real redis-server (Debian's 7.0 writes REDIS0010).
#
#   db 0  @app/condo            sessions with TTL, JSON caches, counters, Bull queues, data_version 1
#   db 1  @app/address-service  address cache hashes, a provider set, a search-rank zset
#   db 2  @app/resident-app     a notification stream with a consumer group, feed lists
#   db 3  @app/eps              a few payment keys and a Bull queue
#
# Usage: tools/make_sample_dump.sh [OUTPUT]   (default: fixtures/sample.rdb in the project)
# Needs redis-server and redis-cli in PATH. Starts a temporary server on 127.0.0.1 and a free
# port in a temporary directory, and stops it by its PID.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../fixtures/sample.rdb"}

command -v redis-server >/dev/null || { echo "make_sample_dump: redis-server not found" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "make_sample_dump: redis-cli not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rdbrekey-sample-XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start the server on a random free port (retry when another process takes it first).
port=""
for _ in $(seq 1 20); do
  cand=$((20000 + RANDOM % 40000))
  port_in_use "$cand" && continue
  redis-server --port "$cand" --bind 127.0.0.1 --dir "$work" --dbfilename dump.rdb \
    --logfile "$work/redis.log" --save "" --appendonly no --databases 16 --daemonize no \
    --protected-mode no --rdbcompression yes &
  pid=$!
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if [ "$(redis-cli -p "$cand" PING 2>/dev/null)" = "PONG" ]; then port=$cand; break 2; fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  pid=""
done
if [ -z "$port" ]; then
  echo "make_sample_dump: could not start redis-server; log:" >&2
  tail -n 20 "$work/redis.log" >&2 || true
  exit 1
fi

cli() { redis-cli -p "$port" "$@"; }

# Absolute expiry times far in the future, so that the fixture does not expire.
far=2051222400  # 2035-01-01T00:00:00Z

# Inline commands (one a line, single-quoted arguments), sent with redis-cli --pipe.
gen() {
  echo "SELECT 0"
  # --- db 0: @app/condo ---------------------------------------------------------------
  echo "SET data_version 1"
  for i in $(seq 1 60); do
    sid=$(printf 'k%08xQz%04dsEsS' $((i * 2654435761 % 4294967296)) "$i")
    user=$(printf '%08x-%04x-4%03x-a%03x-%012x' $((i * 7919)) "$i" "$i" $((i * 3)) $((i * 104729)))
    echo "SET sess:$sid '{\"cookie\":{\"originalMaxAge\":7776000000,\"expires\":\"2034-12-31T00:00:00.000Z\",\"httpOnly\":true,\"path\":\"/\"},\"keystone-user\":\"$user\"}'"
    echo "EXPIREAT sess:$sid $((far + i))"
  done
  for i in $(seq 1 20); do
    echo "SET cache:organization:$i '{\"id\":\"$i\",\"name\":\"Management company $i\",\"tin\":\"77$(printf '%08d' "$i")\",\"country\":\"ru\",\"features\":[\"meters\",\"tickets\",\"payments\",\"news\",\"marketplace\"],\"settings\":{\"locale\":\"ru\",\"timezone\":\"Europe/Moscow\"}}'"
  done
  echo "EXPIREAT cache:organization:1 $far"
  for d in 01 02 03 04 05 06 07; do echo "SET counter:sms:2024-03-$d $((RANDOM % 5000))"; done
  for i in $(seq 1 10); do
    echo "SET rl:ip:10.0.$i.$((i * 7)) $i"
    echo "EXPIREAT rl:ip:10.0.$i.$((i * 7)) $((far + 3600))"
  done
  echo "INCRBY counter:tickets:total 18234"
  # Bull queues: tasks, low, high
  for q in tasks low high; do
    echo "SET bull:$q:id 40"
    echo "HSET bull:$q:meta paused 0 opts.maxLenEvents 10000"
    echo "RPUSH bull:$q:wait 31 32 33 34 35 36"
    echo "RPUSH bull:$q:active 30"
    for j in $(seq 1 12); do
      echo "HSET bull:$q:$j name ${q}Job$((j % 3)) data '{\"organizationId\":\"$j\",\"attempt\":0}' opts '{\"attempts\":3,\"backoff\":{\"type\":\"exponential\",\"delay\":1000},\"removeOnComplete\":true}' timestamp $((1710000000000 + j * 1000)) delay 0 priority 0 attemptsMade 0 processedOn $((1710000000500 + j * 1000))"
    done
    echo "ZADD bull:$q:completed 1710000001000 1 1710000002000 2 1710000003000 3 1710000004000 4"
    echo "ZADD bull:$q:failed 1710000005000 5"
    echo "ZADD bull:$q:delayed 1900000000000 37"
  done
  echo "SET bull:low:importMeters:1 '{\"status\":\"processing\"}'"
  echo "EXPIREAT bull:low:importMeters:1 $far"
  echo "SADD features:enabled meters tickets payments news marketplace"

  # --- db 1: @app/address-service -----------------------------------------------------
  echo "SELECT 1"
  for i in $(seq 1 40); do
    h=$(printf '%016x' $((i * 2862933555777941757 & 0x7fffffffffffffff)))
    echo "HSET address:cache:$h value 'г Москва, ул Тверская, д $i' country ru fiasId 0c5b2444-70a0-4932-980c-b4dc0d3f02b$((i % 10)) source dadata updatedAt $((1700000000 + i))"
  done
  echo "SADD providers:enabled dadata google yandex"
  for i in $(seq 1 30); do echo "ZADD search:rank $((i * 13 % 97)) 'Tverskaya $i'"; done
  echo "SET counter:requests 90211"
  echo "SET rl:provider:dadata 17"
  echo "EXPIREAT rl:provider:dadata $((far + 60))"

  # --- db 2: @app/resident-app --------------------------------------------------------
  echo "SELECT 2"
  for i in $(seq 1 25); do
    echo "XADD events:notifications 1710000000000-$i type push userId user-$((i % 5)) messageId msg-$i"
  done
  for u in 0 1 2 3 4; do
    echo "RPUSH feed:user-$u news-$((u + 1)) news-$((u + 2)) ticket-$((u * 10)) meter-reminder"
  done
  echo "SET app:version:min 2.31.0"

  # --- db 3: @app/eps -----------------------------------------------------------------
  echo "SELECT 3"
  for i in $(seq 1 6); do
    echo "HSET payment:$i amount $((i * 1250)).00 currency RUB status done receipt rcpt-$i"
  done
  echo "RPUSH bull:payments:wait 7 8"
  echo "SET bull:payments:id 8"
  echo "SET eps:settings '{\"acquiring\":\"sbbol\"}'"
}

gen | cli --pipe >"$work/pipe.out"
if ! grep -q "errors: 0," "$work/pipe.out"; then
  echo "make_sample_dump: loading the data failed:" >&2
  cat "$work/pipe.out" >&2
  exit 1
fi

# The stream's consumer group, with pending entries for two consumers.
cli -n 2 XGROUP CREATE events:notifications senders 0 >/dev/null
cli -n 2 XREADGROUP GROUP senders worker-1 COUNT 4 STREAMS events:notifications '>' >/dev/null
cli -n 2 XREADGROUP GROUP senders worker-2 COUNT 3 STREAMS events:notifications '>' >/dev/null
cli -n 2 XACK events:notifications senders 1710000000000-1 >/dev/null

[ "$(cli SAVE)" = "OK" ] || { echo "make_sample_dump: SAVE failed" >&2; exit 1; }
for db in 0 1 2 3; do echo "db $db: $(cli -n "$db" DBSIZE) keys"; done

mkdir -p "$(dirname "$out")"
cp "$work/dump.rdb" "$out"

kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
echo "wrote $out ($(wc -c <"$out") bytes, $(head -c 9 "$out"))"
