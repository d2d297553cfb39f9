// CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected 0x82F63B78), as Kafka's RecordBatch v2
// uses over attributes..end of batch. Hardware (SSE4.2 crc32 instruction) when the CPU has
// it, chosen once at load; a slicing-by-8 table otherwise. Thread-safe (pure functions).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sluice {

// CRC32C of [data, data+len) continuing from `crc` (0 to start): crc32c(b, crc32c(a)) == crc32c(ab).
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t len);

// True when Crc32c runs on the CPU's crc32 instruction.
bool Crc32cIsHardware();

}  // namespace sluice
