#include "lz4_block.h"

#include <cstring>

namespace sluice {

// A block is a run of sequences: token (literal length high nibble, match length low nibble),
// extra literal-length bytes while 255, the literals, a 2-byte LE match offset, extra
// match-length bytes while 255. Matches are at least 4 bytes; the last sequence has literals only.
int64_t Lz4DecodeBlock(const uint8_t* src, size_t srcLen, uint8_t* dst, size_t dstCap) {
  size_t ip = 0;
  size_t op = 0;
  if (srcLen == 0) return -1;
  for (;;) {
    if (ip >= srcLen) return -1;
    const uint8_t token = src[ip++];
    size_t lit = token >> 4;
    if (lit == 15) {
      uint8_t b;
      do {
        if (ip >= srcLen) return -1;
        b = src[ip++];
        lit += b;
      } while (b == 255);
    }
    if (lit > srcLen - ip || lit > dstCap - op) return -1;
    if (lit <= 16 && srcLen - ip >= 16 && dstCap - op >= 16) {
      std::memcpy(dst + op, src + ip, 16);  // fixed size: two moves, no call; the extra bytes are overwritten later
    } else {
      std::memcpy(dst + op, src + ip, lit);
    }
    ip += lit;
    op += lit;
    if (ip == srcLen) return static_cast<int64_t>(op);
    if (srcLen - ip < 2) return -1;
    const size_t offset = static_cast<size_t>(src[ip]) | (static_cast<size_t>(src[ip + 1]) << 8);
    ip += 2;
    if (offset == 0 || offset > op) return -1;
    size_t len = token & 15;
    if (len == 15) {
      uint8_t b;
      do {
        if (ip >= srcLen) return -1;
        b = src[ip++];
        len += b;
      } while (b == 255);
    }
    len += 4;
    if (len > dstCap - op) return -1;
    uint8_t* out = dst + op;
    const uint8_t* from = out - offset;
    if (offset >= 8 && dstCap - op >= len + 8) {
      // 8 bytes at a time, possibly past len (room checked): with offset >= 8 each chunk reads
      // only bytes already written, so overlapping matches repeat correctly.
      for (size_t i = 0; i < len; i += 8) std::memcpy(out + i, from + i, 8);
    } else if (offset >= len) {
      std::memcpy(out, from, len);
    } else {
      for (size_t i = 0; i < len; i++) out[i] = from[i];  // overlapping: repeats the last `offset` bytes
    }
    op += len;
  }
}

}  // namespace sluice
