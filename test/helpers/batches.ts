import { buildBatch, readRecords, batchesIn, type BatchOptions } from '../../src/record/index.js';

/** A batch of `count` records whose values name their sequence number `from + i`. */
export function numberedBatch(from: number, count: number, options: BatchOptions & { valueSize?: number; timestamp?: number } = {}): Buffer {
  const { valueSize = 0, timestamp, ...batchOptions } = options;
  const records = [];
  for (let i = 0; i < count; i++) {
    const n = from + i;
    const value = Buffer.alloc(Math.max(valueSize, 12), 0x2e);
    value.write(`v${n}`.padEnd(12, ' '));
    records.push({ key: `k${n}`, value, timestamp: timestamp === undefined ? undefined : timestamp + i });
  }
  return buildBatch(records, { now: 1_700_000_000_000, ...batchOptions });
}

/** Every record of a chain of batches, decoded. */
export function decodeAll(chain: Buffer): { offset: number; key: string; value: string; timestamp: number }[] {
  const out = [];
  for (const batch of batchesIn(chain)) {
    for (const r of readRecords(batch, { verifyCrc: true })) {
      out.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString().trim().replace(/\.+$/, ''), timestamp: r.timestamp });
    }
  }
  return out;
}
