#!/bin/sh
# The long form of the crash loop (issue 7): a librdkafka producer (acks=all) and group
# consumer against a broker process that is SIGKILLed at random moments and restarted, then a
# read-back of everything (CRC32C, dense offsets, every acknowledged record in place, no
# duplicates with idempotence, no consumer skips). The same harness as the CI test
# (test/helpers/crash-loop.ts via test/reliability-crash-loop.test.ts), bigger numbers.
#
#   KILLS=500 DURABILITY=fsync scripts/crash-loop.sh
#
# Settings (environment):
#   KILLS                broker SIGKILLs per combination          (default 200)
#   DURABILITY           pagecache,fsync or one of them            (default both)
#   PRODUCER             idempotent,plain or one of them           (default both)
#   SEED                 PRNG seed of the kill moments             (default: the clock, printed)
#   RATE                 records per second offered                (default 800)
#   ACKS_ALL_FSYNC       --acks-all-fsync for pagecache            (default false: pure page cache)
#   CONSUMER_KILL_EVERY  SIGKILL the consumer with every Nth kill  (default 5, 0 never)
#   STARTUP_KILL_EVERY   an extra kill during every Nth restart    (default 5, 0 never)
#   MIN_UP_MS, MAX_UP_MS how long the broker lives after listening (default 100, 800)
#   WORKDIR              keep data and logs of every run here      (default: temp, removed unless a run fails)
#   BUILD                0 skips `tsc` (the broker runs from dist) (default 1)
set -u
cd "$(dirname "$0")/.."
SEED=${SEED:-$(date +%s)}
if [ "${BUILD:-1}" = 1 ]; then
  npx tsc -p tsconfig.json || echo "crash-loop: tsc reported errors; running with what it emitted to dist" >&2
fi
if [ -n "${WORKDIR:-}" ]; then mkdir -p "$WORKDIR"; fi
summary=$(mktemp /tmp/sluice-crash-loop-summary.XXXXXX)
started=$(date +%s)
echo "crash-loop: KILLS=${KILLS:-200} DURABILITY=${DURABILITY:-pagecache,fsync} PRODUCER=${PRODUCER:-idempotent,plain} SEED=$SEED RATE=${RATE:-800}"
CRASH_KILLS=${KILLS:-200} \
CRASH_DURABILITY=${DURABILITY:-pagecache,fsync} \
CRASH_PRODUCER=${PRODUCER:-idempotent,plain} \
CRASH_SEED=$SEED \
CRASH_RATE=${RATE:-800} \
CRASH_ACKS_ALL_FSYNC=${ACKS_ALL_FSYNC:-false} \
CRASH_CONSUMER_KILL_EVERY=${CONSUMER_KILL_EVERY:-5} \
CRASH_STARTUP_KILL_EVERY=${STARTUP_KILL_EVERY:-5} \
CRASH_MIN_UP_MS=${MIN_UP_MS:-100} \
CRASH_MAX_UP_MS=${MAX_UP_MS:-800} \
CRASH_WORKDIR=${WORKDIR:-} \
CRASH_SUMMARY=$summary \
  npx vitest run test/reliability-crash-loop.test.ts
status=$?
echo
echo "===== crash-loop summary (seed $SEED, $(( $(date +%s) - started )) s, vitest exit $status)"
cat "$summary"
rm -f "$summary"
exit $status
