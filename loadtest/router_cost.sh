#!/usr/bin/env bash
# What does the one-port front (actix-http HttpService + upgrade hook) cost a REST request,
# against the same App behind a stock actix-web HttpServer? Same machine, same run, wrk.
# Usage: bash loadtest/router_cost.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release --bin warroom --example plain_actix -q
dir=$(mktemp -d)
export WARROOM_RATE_LIMITS=off WARROOM_WORKERS=2 WARROOM_LOG=warn
mkdir -p $dir/a $dir/b
WARROOM_DATA_DIR=$dir/a WARROOM_BIND=127.0.0.1:18181 target/release/warroom & front=$!
WARROOM_DATA_DIR=$dir/b WARROOM_BIND=127.0.0.1:18182 target/release/examples/plain_actix & plain=$!
trap 'kill $front $plain 2>/dev/null; rm -rf $dir' EXIT
sleep 1
for round in 1 2; do
  for target in "front 18181" "plain 18182"; do
    set -- $target
    rps=$(wrk -t2 -c64 -d${secs}s --latency http://127.0.0.1:$2/healthz | awk '/Requests\/sec/ {print $2}')
    echo "round $round $1 (port $2): $rps req/s"
  done
done
