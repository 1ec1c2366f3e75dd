#!/usr/bin/env bash
# Profiles the release server under a short `loadtest battles` run (docs/PERFORMANCE.md).
# Usage: bash loadtest/profile.sh perf|callgrind [battles] [spectators] [seconds]
#   perf:      `perf record -e cpu-clock` (a software clock: works where the box has no
#              hardware counters) with DWARF call graphs, attached to the server for SECONDS
#              of steady play; kernel time is included. Report in target/profile/perf.txt.
#   callgrind: the server runs under `valgrind --tool=callgrind` with instrumentation off,
#              switched on for SECONDS of play (instruction counts: stable on a noisy box,
#              user space only). Report in target/profile/callgrind.txt.
# The server is pinned to cpu0 and the load tool to cpu1, as in side_by_side.py.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-perf} battles=${2:-20} spect=${3:-8} secs=${4:-20}
cargo build --release -p warroom -p loadtest -q
out=target/profile; mkdir -p $out
dir=$(mktemp -d)
port=18795
export WARROOM_BIND=127.0.0.1:$port WARROOM_DATA_DIR=$dir WARROOM_TICK_MS=100 \
  WARROOM_RATE_LIMITS=off WARROOM_LOG=warn WARROOM_JWT_SECRET=$(printf 'x%.0s' $(seq 64))
unset DATABASE_URL REDIS_URL
case $mode in
  perf) taskset -c 0 target/release/warroom serve >"$dir/server.log" 2>&1 & ;;
  callgrind)
    taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$out/callgrind.out \
      target/release/warroom serve >"$dir/server.log" 2>&1 & ;;
  *) echo "mode: perf|callgrind"; exit 2 ;;
esac
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
# Under valgrind the pid of the server is valgrind's own (it execs in place).
taskset -c 1 target/release/loadtest battles --url http://127.0.0.1:$port --battles "$battles" \
  --spectators "$spect" --duration $((secs + 15)) --server-pid $server --out $out/$mode-result.json \
  2>"$dir/lt.err" >$out/$mode-summary.txt &
lt=$!
until grep -q "playing for" "$dir/lt.err" 2>/dev/null; do
  kill -0 $lt 2>/dev/null || { cat "$dir/lt.err"; exit 1; }
  sleep 0.5
done
sleep 10 # spectators joined, battles in steady turnover
echo "load average at start: $(cat /proc/loadavg)" | tee $out/$mode-loadavg.txt
case $mode in
  perf)
    perf record -o $out/perf.data -e cpu-clock -F 499 --call-graph dwarf,16384 -p $server -- sleep "$secs" 2>/dev/null
    perf report -i $out/perf.data --no-children --sort dso,symbol --stdio 2>/dev/null | head -200 >$out/perf.txt || true
    perf report -i $out/perf.data --children --sort symbol --stdio -g none --percent-limit 1 2>/dev/null \
      | head -250 >$out/perf-inclusive.txt || true ;;
  callgrind)
    callgrind_control -i on $server >/dev/null
    sleep "$secs"
    callgrind_control -i off $server >/dev/null
    callgrind_control -d $server >/dev/null
    sleep 2
    f=$(ls -t $out/callgrind.out* | head -1)
    callgrind_annotate --inclusive=no "$f" 2>/dev/null | head -120 >$out/callgrind.txt || true
    callgrind_annotate --inclusive=yes "$f" 2>/dev/null | head -200 >$out/callgrind-inclusive.txt || true ;;
esac
wait $lt || true
echo "live ticks delivered: $(grep -o '"live_ticks_delivered": [0-9]*' $out/$mode-result.json)"
echo "reports in $out/"
