// Walks a chain of Kafka RecordBatch v2 in memory and finds where the valid prefix ends.
// Used by recovery (truncate at the first invalid byte), index rebuilds and produce checks.
// Checks per batch: the 61-byte header fits, batchLength >= 49 and the batch fits in the
// range, magic == 2, and the stored CRC32C equals the CRC of bytes [21, end of batch).
// It does not check offsets: that is policy, and TypeScript does it. Thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sluice {

// RecordBatch v2 header offsets (see src/record/layout.ts for the whole layout).
constexpr size_t kBatchLengthOffset = 8;    // int32: bytes after this field
constexpr size_t kMagicOffset = 16;         // int8: 2
constexpr size_t kCrcOffset = 17;           // uint32: CRC32C of [21, end)
constexpr size_t kAttributesOffset = 21;    // first byte the CRC covers
constexpr size_t kBatchHeaderSize = 61;     // smallest possible batch (no records)
constexpr size_t kLogOverhead = 12;         // baseOffset + batchLength

// Returns the end of the longest run of valid batches in base[start, end), starting at start.
size_t ScanBatches(const uint8_t* base, size_t start, size_t end);

}  // namespace sluice
