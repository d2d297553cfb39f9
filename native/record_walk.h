// The fast path of the produce-time record checks (src/record/log-validator.ts): walks the
// records of one uncompressed records section and says whether every one is well formed,
// reading lengths and varints in place. The TypeScript walk stays the reference and the
// slow path: it runs when this reports anything unusual, to name the problem. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

struct RecordWalk {
  int64_t maxTimestampDelta;
  int64_t minTimestampDelta;
  int64_t keyless;  // records whose key is null
};

// Walks `count` records in data[start, end): lengths inside their record and the section,
// offsetDelta = 0..count-1 in order, key/value/header lengths and header counts sane, varints
// at most 5 (int32) or 10 (int64) bytes, timestamp deltas within +-2^53, and the records
// exactly filling the section. Returns true when all hold (filling `out`), false otherwise.
bool WalkRecords(const uint8_t* data, size_t start, size_t end, int64_t count, RecordWalk* out);

}  // namespace sluice
