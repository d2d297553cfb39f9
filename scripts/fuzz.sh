#!/usr/bin/env bash
# The long-run form of the hostile-client network fuzzer (test/reliability-hostile-fuzz.test.ts).
#
#   FRAMES=10000000 SEED=12345 scripts/fuzz.sh
#
# FRAMES   frames to send (default 10,000,000; CI runs 100,000)
# SEED     run seed (default: random, printed); a failure prints it with the bursts in flight,
#          which test/helpers/fuzz.ts's burstFrames(seed, connection, burst) regenerates
# PROBE_EVERY  frames between two well-behaved-client round trips (default 5000)
#
# Builds first (the broker runs from dist/ as a child process). At ~2,000-3,000 frames/s on
# 2 cores, 10,000,000 frames take about 1-1.5 hours.
set -euo pipefail
cd "$(dirname "$0")/.."

FRAMES="${FRAMES:-10000000}"
SEED="${SEED:-$(( (RANDOM << 15) | RANDOM ))}"
echo "fuzz: ${FRAMES} frames, seed ${SEED}"

npx tsc -p tsconfig.json
FUZZ_FRAMES="$FRAMES" FUZZ_SEED="$SEED" FUZZ_PROBE_EVERY="${PROBE_EVERY:-5000}" \
  npx vitest run test/reliability-hostile-fuzz.test.ts --reporter=default
