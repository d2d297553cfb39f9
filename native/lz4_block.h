// LZ4 block decoding (the block format inside an LZ4 frame), for checking producers' lz4
// batches on append: lz4-napi's frame decoder runs at about 70 MB/s on Kafka's 64 KiB-block
// frames here, too slow to decompress every produced batch. Frame parsing stays in
// TypeScript (record/frames.ts, record/lz4-decode.ts); this decodes one block's sequences.
// Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

// Decodes the LZ4 block src[0, srcLen) into dst[0, dstCap). Returns the bytes written, or -1
// when the block is malformed (a length or offset pointing outside src or dst) or would not
// fit in dstCap. Never reads or writes outside the two ranges.
int64_t Lz4DecodeBlock(const uint8_t* src, size_t srcLen, uint8_t* dst, size_t dstCap);

}  // namespace sluice
