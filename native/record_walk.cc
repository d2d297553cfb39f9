#include "record_walk.h"

namespace sluice {
namespace {

constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
constexpr int32_t kMinRecordBody = 6;  // attributes, timestampDelta, offsetDelta, key, value, header count

// Zigzag int32 varint, at most 5 bytes (the fifth holding 4 bits), as Kafka reads it.
inline bool Varint(const uint8_t* d, size_t& i, size_t end, int32_t& out) {
  uint32_t z = 0;
  for (int shift = 0;; shift += 7) {
    if (i >= end) return false;
    const uint8_t b = d[i++];
    if (shift == 28) {
      if (b > 0x0f) return false;
      z |= static_cast<uint32_t>(b) << 28;
      break;
    }
    z |= static_cast<uint32_t>(b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  out = static_cast<int32_t>((z >> 1) ^ (0u - (z & 1)));
  return true;
}

// Zigzag int64 varint, at most 10 bytes.
inline bool Varlong(const uint8_t* d, size_t& i, size_t end, int64_t& out) {
  uint64_t z = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (i >= end) return false;
    const uint8_t b = d[i++];
    z |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      out = static_cast<int64_t>((z >> 1) ^ (0ull - (z & 1)));
      return true;
    }
  }
  return false;
}

// Skips a length-prefixed field of at least `min` bytes (-1: null allowed) inside [i, end).
inline bool Skip(const uint8_t* d, size_t& i, size_t end, int32_t min, bool* isNull) {
  int32_t n;
  if (!Varint(d, i, end, n)) return false;
  if (n == -1 && min < 0) {
    if (isNull != nullptr) *isNull = true;
    return true;
  }
  if (n < 0 || static_cast<size_t>(n) > end - i) return false;
  i += static_cast<size_t>(n);
  return true;
}

}  // namespace

bool WalkRecords(const uint8_t* d, size_t start, size_t end, int64_t count, RecordWalk* out) {
  size_t i = start;
  int64_t maxDelta = INT64_MIN;
  int64_t minDelta = INT64_MAX;
  int64_t keyless = 0;
  for (int64_t n = 0; n < count; n++) {
    int32_t length;
    if (!Varint(d, i, end, length)) return false;
    if (length < kMinRecordBody || static_cast<size_t>(length) > end - i) return false;
    const size_t recordEnd = i + static_cast<size_t>(length);
    i++;  // attributes: unused in v2
    int64_t delta;
    if (!Varlong(d, i, recordEnd, delta) || delta > kMaxSafe || delta < -kMaxSafe) return false;
    int32_t offsetDelta;
    if (!Varint(d, i, recordEnd, offsetDelta) || offsetDelta != n) return false;
    bool nullKey = false;
    if (!Skip(d, i, recordEnd, -1, &nullKey) || !Skip(d, i, recordEnd, -1, nullptr)) return false;
    int32_t headers;
    if (!Varint(d, i, recordEnd, headers)) return false;
    if (headers < 0 || static_cast<size_t>(headers) > (recordEnd - i) / 2) return false;
    for (int32_t h = 0; h < headers; h++) {
      if (!Skip(d, i, recordEnd, 0, nullptr) || !Skip(d, i, recordEnd, -1, nullptr)) return false;
    }
    if (i != recordEnd) return false;
    if (delta > maxDelta) maxDelta = delta;
    if (delta < minDelta) minDelta = delta;
    if (nullKey) keyless++;
  }
  if (i != end) return false;
  out->maxTimestampDelta = maxDelta;
  out->minTimestampDelta = minDelta;
  out->keyless = keyless;
  return true;
}

}  // namespace sluice
