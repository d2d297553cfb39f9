#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <nmmintrin.h>
#define SLUICE_X86 1
#endif

namespace sluice {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (kPoly & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};
const Tables kTables;

// Portable fallback: slicing-by-8, ~1 byte/cycle.
uint32_t SoftwareCrc(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = kTables.t;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;  // little-endian hosts only; a big-endian host takes the byte loop below
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return c;
}

// Operators that move a CRC register past n zero bytes, as four byte-indexed tables, so
// CRCs of adjacent blocks computed separately can be joined: crc(A then B) =
// Shift(crc(A), |B|) ^ crc(B, started from 0). Built once, from the one-zero-bit operator
// squared until it covers n bytes (n a power of two).
struct ZerosOperator {
  uint32_t t[4][256];
  explicit ZerosOperator(size_t bytes) {
    uint32_t a[32], b[32];
    a[0] = kPoly;  // one zero bit: bit 0 folds in the polynomial, the others shift down
    for (int k = 1; k < 32; k++) a[k] = 1u << (k - 1);
    // Square a (2^i bits) into b (2^(i+1) bits) and back until the operator covers 8 * bytes bits.
    uint32_t* cur = a;
    uint32_t* next = b;
    for (size_t bits = 1; bits < 8 * bytes; bits *= 2) {
      for (int k = 0; k < 32; k++) next[k] = Times(cur, cur[k]);
      uint32_t* tmp = cur;
      cur = next;
      next = tmp;
    }
    for (uint32_t i = 0; i < 256; i++) {
      for (int k = 0; k < 4; k++) t[k][i] = Times(cur, i << (8 * k));
    }
  }
  static uint32_t Times(const uint32_t* m, uint32_t v) {
    uint32_t sum = 0;
    for (int k = 0; v != 0; k++, v >>= 1)
      if (v & 1u) sum ^= m[k];
    return sum;
  }
  uint32_t Shift(uint32_t c) const { return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24]; }
};

#if SLUICE_X86
// The crc32 instruction takes 3 cycles but can start every cycle, so three independent
// streams over adjacent blocks run about three times as fast as one; the three CRCs are
// then joined with the zeros operators. Long blocks for big inputs, short ones for the rest.
constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;
const ZerosOperator kLongZeros(kLongBlock);
const ZerosOperator kShortZeros(kShortBlock);

__attribute__((target("sse4.2"))) inline uint64_t ThreeWay(uint64_t c0, const uint8_t*& p, size_t block, const ZerosOperator& zeros) {
  uint64_t c1 = 0, c2 = 0;
  const uint8_t* end = p + block;
  do {
    uint64_t v0, v1, v2;
    std::memcpy(&v0, p, 8);
    std::memcpy(&v1, p + block, 8);
    std::memcpy(&v2, p + 2 * block, 8);
    c0 = _mm_crc32_u64(c0, v0);
    c1 = _mm_crc32_u64(c1, v1);
    c2 = _mm_crc32_u64(c2, v2);
    p += 8;
  } while (p < end);
  p += 2 * block;
  c0 = zeros.Shift(static_cast<uint32_t>(c0)) ^ c1;
  return zeros.Shift(static_cast<uint32_t>(c0)) ^ c2;
}

__attribute__((target("sse4.2"))) uint32_t HardwareCrc(uint32_t c, const uint8_t* p, size_t n) {
  uint64_t c64 = c;
  while (n >= 3 * kLongBlock) {
    c64 = ThreeWay(c64, p, kLongBlock, kLongZeros);
    n -= 3 * kLongBlock;
  }
  while (n >= 3 * kShortBlock) {
    c64 = ThreeWay(c64, p, kShortBlock, kShortZeros);
    n -= 3 * kShortBlock;
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
}
const bool kHardware = __builtin_cpu_supports("sse4.2");
#else
const bool kHardware = false;
#endif

constexpr bool IsLittleEndian() { return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__; }

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t len) {
  uint32_t c = ~crc;
#if SLUICE_X86
  if (kHardware) return ~HardwareCrc(c, data, len);
#endif
  if (IsLittleEndian()) return ~SoftwareCrc(c, data, len);
  const auto& t = kTables.t;
  while (len--) c = (c >> 8) ^ t[0][(c ^ *data++) & 0xFF];
  return ~c;
}

bool Crc32cIsHardware() { return kHardware; }

}  // namespace sluice
