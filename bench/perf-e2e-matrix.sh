#!/bin/bash
# sluice perf end-to-end at 10% and 50% of the rate an unpaced run reaches, 1 and 8 partitions
# (PARTS="1 8"), 100 B, --warmup-ms 1000, against one running Sluice: latency percentiles, the
# two legs at the broker's append, and the broker's CPU and run-queue wait per second (from
# /proc/<pid>/stat and /proc/<pid>/task/*/schedstat), which is where the tail goes on a busy host.
#   bench/perf-e2e-matrix.sh BOOTSTRAP BROKER_PID [MIN_RECORDS (60000)]
B=$1; PID=$2; N=${3:-60000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The heap flag the sluice command starts with (its shebang): see README, "Latency and the heap".
S="node --initial-old-space-size=256 $ROOT/dist/src/cli/index.js"
rq() { cat /proc/$PID/task/*/schedstat | awk '{s+=$2} END {printf "%.0f", s/1e6}'; }
cpu() { awk '{printf "%.0f", ($14+$15)*10}' /proc/$PID/stat; }
for p in ${PARTS:-1 8}; do
  max=$($S perf end-to-end --topic mx-$p-$RANDOM --partitions $p --num-records 300000 --throughput -1 --record-size 100 --json --bootstrap-server $B 2>/dev/null | sed -n 's/.*"recordsPerSec":\([0-9.]*\).*/\1/p')
  echo "partitions=$p max=$max load=$(cut -d' ' -f1 /proc/loadavg)"
  for share in 10 50; do
    rate=$(awk -v m=$max -v s=$share 'BEGIN{printf "%d", m*s/100}')
    n=$(( rate * 6 )); [ $n -lt $N ] && n=$N
    r0=$(rq); c0=$(cpu); t0=$(date +%s.%N)
    out=$($S perf end-to-end --topic e-$p-$share-$RANDOM --partitions $p --num-records $n --throughput $rate --record-size 100 --warmup-ms 1000 --json --bootstrap-server $B 2>/dev/null)
    r1=$(rq); c1=$(cpu); t1=$(date +%s.%N)
    echo "$out" | node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8")); const [share, rate, rq, secs, load, bcpu] = process.argv.slice(1);
      const f = (l) => `p50 ${l.p50} p99 ${l.p99} p99.9 ${l.p999} max ${l.max}`;
      console.log(`  ${share}% (${rate}/s, got ${r.recordsPerSec}/s): e2e ${f(r.latencyMs)} | send->append p99 ${r.appendLatencyMs.p99} p99.9 ${r.appendLatencyMs.p999} | append->delivery p99 ${r.deliveryLatencyMs.p99} p99.9 ${r.deliveryLatencyMs.p999} | warm-up p99 ${r.warmupLatencyMs.p99} | broker CPU ${(bcpu / secs).toFixed(0)} ms/s, run-queue wait ${(rq / secs).toFixed(0)} ms/s | load ${load}`);
    ' $share $rate $((r1 - r0)) $(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}') "$(cut -d' ' -f1 /proc/loadavg)" $((c1 - c0))
  done
done
