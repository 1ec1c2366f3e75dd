#!/usr/bin/env bash
# `loadtest battles` and `loadtest tables` against one node and against two nodes that form one
# cluster (Postgres + Redis), on this box. Each run gets a fresh Postgres database and its own
# Redis prefix. Usage: bash loadtest/multinode.sh [battles] [spectators] [seconds] [tables]
# Results: target/multinode/{one,two}-{battles,tables}.{json,txt}; load average printed.
set -euo pipefail
cd "$(dirname "$0")/.."
battles=${1:-100} spect=${2:-8} secs=${3:-30} tables=${4:-300}
cargo build --release -p warroom -p loadtest -q
out=target/multinode; mkdir -p $out
pg=postgres://postgres@127.0.0.1:5432
export WARROOM_TICK_MS=100 WARROOM_RATE_LIMITS=off WARROOM_LOG=${WARROOM_LOG:-warn} \
  WARROOM_JWT_SECRET=$(printf 'x%.0s' $(seq 64))
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
start() { # name port redis(yes/no) db
  local dir; dir=$(mktemp -d)
  if [ "$3" = yes ]; then
    REDIS_URL=redis://127.0.0.1:6379 WARROOM_REDIS_PREFIX=$5 WARROOM_NODE_ID=$1 \
      DATABASE_URL=$pg/$4 WARROOM_BIND=127.0.0.1:$2 WARROOM_DATA_DIR=$dir \
      target/release/warroom serve >"$out/$1.log" 2>&1 &
  else
    env -u REDIS_URL DATABASE_URL=$pg/$4 WARROOM_BIND=127.0.0.1:$2 WARROOM_DATA_DIR=$dir \
      target/release/warroom serve >"$out/$1.log" 2>&1 &
  fi
  pids+=($!)
  for _ in $(seq 300); do curl -fs http://127.0.0.1:$2/readyz >/dev/null && return; sleep 0.2; done
  echo "node $1 did not get ready"; cat "$out/$1.log"; exit 1
}
fresh() { psql -q "$pg/test" -c "CREATE DATABASE $1" ; }
run() { # label urls...
  local label=$1; shift
  local args=(); for u in "$@"; do args+=(--url "$u"); done
  local cpu=(); for p in "${pids[@]}"; do cpu+=(--server-pid "$p"); done # CPU summed over nodes
  echo "== $label: load $(cut -d' ' -f1-3 /proc/loadavg)"
  target/release/loadtest battles "${args[@]}" "${cpu[@]}" --battles "$battles" --spectators "$spect" \
    --duration "$secs" --prefix "mn$RANDOM$label" --out $out/$label-battles.json | tee $out/$label-battles.txt | tail -45 || true
  for u in "$@"; do # what an ownership change or a lost cross-node op would show
    echo "-- $u"; curl -fs "$u/metrics" | grep -E "^warroom_(leases|lease_takeovers|adapter_errors|forwarded|socket_buffer|emit_deferred)" || true
  done
  if [ "$tables" -gt 0 ]; then
    target/release/loadtest tables "${args[@]}" --battles "$tables" --duration "$secs" \
      --out $out/$label-tables.json | tee $out/$label-tables.txt | tail -25 || true
  fi
}
tag=$(date +%s)
fresh "wr_lt1_$tag"; start one 18801 no "wr_lt1_$tag"
[ "${SKIP_ONE:-}" ] || run one http://127.0.0.1:18801
cleanup; pids=()
fresh "wr_lt2_$tag"; start n1 18811 yes "wr_lt2_$tag" "lt$tag"; start n2 18812 yes "wr_lt2_$tag" "lt$tag"
run two http://127.0.0.1:18811 http://127.0.0.1:18812
cleanup; pids=()
for d in "wr_lt1_$tag" "wr_lt2_$tag"; do psql -q "$pg/test" -c "DROP DATABASE $d WITH (FORCE)"; done
