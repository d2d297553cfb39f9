/**
 * Frozen fixtures: test/fixtures/batch-v2-*.bin were written once by
 * test/fixtures/generate.ts from the specs in test/fixtures/batches.ts. If one of these
 * tests fails, the record format changed: that is a compatibility break, not a fixture to
 * regenerate.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildBatch,
  buildEndTransactionMarker,
  decompress,
  encodeRecords,
  readBatchHeader,
  readEndTransactionMarker,
  readRecords,
  verifyBatch,
  type RecordInput,
  type RecordOutput,
} from '../src/record/index.js';
import { CONTROL_FIXTURE, FIXTURES, fixtureFile } from './fixtures/batches.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const load = (name: string): Buffer => readFileSync(path.join(dir, fixtureFile(name)));

const hexOf = (v: Buffer | Uint8Array | string | null | undefined): string | null =>
  v === null || v === undefined ? null : Buffer.from(v as Uint8Array).toString('hex');
const strHex = (v: Buffer | Uint8Array | string | null | undefined): string | null =>
  typeof v === 'string' ? Buffer.from(v, 'utf8').toString('hex') : hexOf(v);

function plain(r: RecordOutput) {
  return { offset: r.offset, timestamp: r.timestamp, key: hexOf(r.key), value: hexOf(r.value), headers: r.headers.map((h) => [h.key, hexOf(h.value)]) };
}

function expected(records: RecordInput[], baseOffset: number, timestamp: (r: RecordInput) => number) {
  return records.map((r, i) => ({
    offset: baseOffset + i,
    timestamp: timestamp(r),
    key: strHex(r.key),
    value: strHex(r.value),
    headers: Array.isArray(r.headers)
      ? r.headers.map((h) => [h.key, strHex(h.value)])
      : Object.entries(r.headers ?? {}).map(([k, v]) => [k, strHex(v)]),
  }));
}

describe('frozen batch fixtures', () => {
  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s decodes to its records', (_name, spec) => {
    const bytes = load(spec.name);
    expect(verifyBatch(bytes)).toBe(bytes.length);
    const h = readBatchHeader(bytes);
    const o = spec.options;
    expect(h).toMatchObject({
      baseOffset: o.baseOffset ?? 0,
      partitionLeaderEpoch: o.partitionLeaderEpoch ?? -1,
      producerId: o.producerId ?? -1,
      producerEpoch: o.producerEpoch ?? -1,
      baseSequence: o.baseSequence ?? -1,
      recordsCount: spec.records.length,
      lastOffsetDelta: spec.records.length - 1,
      compression: { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[(o.compression as string | undefined) ?? 'none'],
    });
    const logAppend = o.timestampType === 'LogAppendTime';
    const stamp = (r: RecordInput) => (logAppend ? o.now! : (r.timestamp ?? o.now!));
    expect(readRecords(bytes).map(plain)).toEqual(expected(spec.records, o.baseOffset ?? 0, stamp));
  });

  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s is what the builder still writes', (_name, spec) => {
    const bytes = load(spec.name);
    const h = readBatchHeader(bytes);
    if (h.compression === 0) {
      // Uncompressed: byte for byte.
      expect(buildBatch(spec.records, spec.options).toString('hex')).toBe(bytes.toString('hex'));
    } else {
      // Compressed: the records section inside is byte for byte what encodeRecords writes,
      // and the header around it is what buildBatch writes (codec output may vary by version).
      const section = encodeRecords(spec.records, spec.options);
      expect(decompress(h.compression, bytes.subarray(61)).toString('hex')).toBe(section.data.toString('hex'));
      const rebuilt = buildBatch(spec.records, { ...spec.options, compression: 'none' });
      const header = (b: Buffer) => {
        const copy = Buffer.from(b.subarray(0, 61));
        copy.fill(0, 8, 12); // batchLength
        copy.fill(0, 17, 23); // crc, attributes
        return copy.toString('hex');
      };
      expect(header(bytes)).toBe(header(rebuilt));
    }
  });

  it('the snappy fixtures hold both framings', () => {
    expect(load('snappy-xerial').subarray(61, 69).toString('hex')).toBe('82534e4150505900');
    expect(load('snappy-raw').subarray(61, 69).toString('hex')).not.toBe('82534e4150505900');
  });

  it('the zstd fixtures were made by the zstd CLI, with and without a content size', () => {
    const stream = load('zstd-stream').subarray(61);
    const file = load('zstd-file').subarray(61);
    expect(stream.readUInt32LE(0)).toBe(0xfd2fb528);
    expect(stream[4]! >> 6).toBe(0); // no frame content size
    expect((stream[4]! >> 5) & 1).toBe(0); // window descriptor present
    expect(file.readUInt32LE(0)).toBe(0xfd2fb528);
    expect((file[4]! >> 5) & 1).toBe(1); // single segment: content size given
  });

  it('the control fixture is a commit marker, rebuilt byte for byte', () => {
    const bytes = load(CONTROL_FIXTURE.name);
    expect(buildEndTransactionMarker(CONTROL_FIXTURE.marker).toString('hex')).toBe(bytes.toString('hex'));
    expect(readEndTransactionMarker(bytes)).toEqual({
      committed: true,
      type: 1,
      coordinatorEpoch: 11,
      producerId: 4242,
      producerEpoch: 3,
      offset: 99,
      timestamp: CONTROL_FIXTURE.marker.timestamp,
    });
    expect(bytes.readInt16BE(21)).toBe(0x30); // transactional | control
  });
});
