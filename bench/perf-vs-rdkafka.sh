#!/bin/sh
# sluice perf next to bench/rdkafka-perf on one running Sluice broker, in the same minutes:
# produce then consume N records of 100 B (lz4, acks=1) on a fresh 1-partition topic each,
# alternating which tool goes first, with the broker's CPU seconds (utime+stime from
# /proc/<pid>/stat) over each step. One JSON line per step.
#   bench/perf-vs-rdkafka.sh BOOTSTRAP BROKER_PID [RECORDS (3000000)] [ROUNDS (3)]
set -eu
B=$1 PID=$2 N=${3:-3000000} ROUNDS=${4:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S="node $ROOT/dist/src/cli/index.js"
RK=$ROOT/build/rdkafka-perf
cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$PID/stat"; }
rate() { sed -n 's/.*"recordsPerSec":\([0-9.]*\).*/\1/p' | head -1; }
step() { # name command...
  name=$1; shift
  c0=$(cpu); out=$("$@" 2>/dev/null | tail -1); c1=$(cpu)
  echo "{\"step\":\"$name\",\"recordsPerSec\":$(echo "$out" | rate),\"brokerCpuSecPerM\":$(echo "$c0 $c1 $N" | awk '{ printf "%.3f", ($2 - $1) * 1e6 / $3 }'),\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\"}"
}
r=0
while [ $r -lt "$ROUNDS" ]; do
  r=$((r + 1)); tag=$(date +%s)-$r
  for tool in $( [ $((r % 2)) -eq 1 ] && echo "sluice rdkafka" || echo "rdkafka sluice" ); do
    t=cmp-$tool-$tag
    $S topics --create --topic "$t" --partitions 1 --bootstrap-server "$B" >/dev/null
    if [ "$tool" = sluice ]; then
      step "sluice-perf produce" $S perf produce --topic "$t" --num-records "$N" --record-size 100 --producer-props acks=1 compression.type=lz4 --json --bootstrap-server "$B"
      step "sluice-perf consume" $S perf consume --topic "$t" --num-records "$N" --json --bootstrap-server "$B"
    else
      step "rdkafka-perf produce" "$RK" produce -b "$B" -t "$t" -n "$N" -s 100 -z lz4 -a 1
      step "rdkafka-perf consume" "$RK" consume -b "$B" -t "$t" -n "$N"
    fi
    $S topics --delete --topic "$t" --bootstrap-server "$B" >/dev/null
  done
done
