#include "batch_scan.h"

#include "crc32c.h"

namespace sluice {
namespace {

uint32_t ReadBe32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace

size_t ScanBatches(const uint8_t* base, size_t start, size_t end) {
  size_t pos = start;
  while (end - pos >= kBatchHeaderSize) {
    const uint8_t* b = base + pos;
    const int32_t batch_length = static_cast<int32_t>(ReadBe32(b + kBatchLengthOffset));
    if (batch_length < static_cast<int32_t>(kBatchHeaderSize - kLogOverhead)) break;
    const size_t total = kLogOverhead + static_cast<size_t>(batch_length);
    if (total > end - pos) break;
    if (b[kMagicOffset] != 2) break;
    const uint32_t stored = ReadBe32(b + kCrcOffset);
    if (Crc32c(0, b + kAttributesOffset, total - kAttributesOffset) != stored) break;
    pos += total;
  }
  return pos;
}

}  // namespace sluice
