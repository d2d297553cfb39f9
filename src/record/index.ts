/**
 * The RecordBatch v2 codec: Kafka's on-disk and on-wire record format, byte for byte.
 *
 *   layout.ts       byte offsets, attribute bits, Compression, TimestampType
 *   varint.ts       zigzag varint / varlong
 *   header.ts       the 61-byte batch header: read, write, patch baseOffset / leader epoch
 *   compression.ts  the codecs: gzip, snappy, lz4 frame, zstd (read only)
 *   snappy.ts       xerial framing (Java client) and raw snappy (librdkafka)
 *   frames.ts       lz4 / zstd frame walks that bound decompression before it starts
 *   builder.ts      records -> batch
 *   reader.ts       batch chain -> batches -> records; verifyBatch
 *   control.ts      control records, end-transaction markers
 *   errors.ts       CorruptRecordError, UnsupportedCompressionError, InvalidRecordError
 */
export * from './layout.js';
export { CorruptRecordError, InvalidRecordError, UnsupportedCompressionError } from './errors.js';
export {
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  state,
  varint,
  varlong,
  writeVarint,
  writeVarlong,
  type Codec,
  type State,
} from './varint.js';
export {
  computeBatchCrc,
  readBatchHeader,
  readInt64,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  writeBatchHeader,
  writeInt64,
  type BatchHeader,
  type BatchHeaderFields,
} from './header.js';
export {
  compress,
  compressAsync,
  decompress,
  decompressAsync,
  DEFAULT_MAX_DECOMPRESSED_SIZE,
  type DecompressOptions,
} from './compression.js';
export {
  assembleBatch,
  buildBatch,
  buildBatchAsync,
  encodeRecords,
  type BatchInfo,
  type BatchOptions,
  type EncodeOptions,
  type RecordBytes,
  type RecordHeader,
  type RecordInput,
  type RecordsSection,
} from './builder.js';
export {
  batchesIn,
  isValidBatch,
  readRecords,
  BatchDecoder,
  NO_HEADERS,
  verifyBatch,
  type ReadOptions,
  type RecordHeaderOutput,
  type RecordOutput,
  type RecordFactory,
} from './reader.js';
export {
  buildEndTransactionMarker,
  controlRecordKey,
  ControlRecordType,
  endTransactionMarkerValue,
  readEndTransactionMarker,
  type ControlRecordKey,
  type EndTransactionMarker,
  type EndTransactionMarkerOptions,
  type EndTransactionMarkerValue,
} from './control.js';
