#!/usr/bin/env bash
# The `tables` scenario end to end: release build, a fresh server (SQLite in a temp dir, rate
# limits off), the load, the result in target/loadtest-tables.json.
# Usage: bash loadtest/tables.sh [battles] [watchers] [duration_s] [patch_rate]
set -euo pipefail
cd "$(dirname "$0")/.."
battles=${1:-1000} watchers=${2:-4} duration=${3:-60} rate=${4:-200}
cargo build --release -p warroom -p loadtest -q
dir=$(mktemp -d)
# DATABASE_URL=postgres://... in the environment runs it on Postgres instead.
ulimit -n 20000
WARROOM_DATA_DIR=$dir WARROOM_BIND=127.0.0.1:18080 WARROOM_RATE_LIMITS=off WARROOM_LOG=warn \
  target/release/warroom > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fs http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.2; done
target/release/loadtest tables --url http://127.0.0.1:18080 --battles "$battles" \
  --watchers "$watchers" --duration "$duration" --patch-rate "$rate" \
  --out target/loadtest-tables.json
