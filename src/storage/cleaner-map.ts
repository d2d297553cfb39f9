/**
 * The cleaner's offset map: for each distinct record key, the highest offset at which it
 * occurs in the part of the log the map was built over (Kafka's OffsetMap).
 *
 * A key is held as a string: keys of up to 32 bytes as their bytes in latin1 (one char per
 * byte, so distinct keys stay distinct), longer keys as the base64 of their SHA-256 (44
 * chars). The two forms cannot meet: they differ in length. A SHA-256 collision, the only
 * way two long keys could share an entry, is not a practical concern.
 *
 * Memory bound: one entry per distinct key, about 80-120 bytes each in V8 (the string plus
 * the Map's slot): a million distinct keys cost roughly 100 MB. There is no cap: a topic with
 * more distinct keys than memory allows must not be compacted in one pass (Kafka caps its map
 * at log.cleaner.dedupe.buffer.size and cleans in several passes; not done here).
 *
 * Not thread-safe: one map belongs to one compaction run.
 */
import { createHash } from 'node:crypto';

/** Keys longer than this are hashed. */
const MAX_LITERAL_KEY = 32;

export class KeyMap {
  private readonly latest = new Map<string, number>();
  /** Keys with a superseded copy the cleaner had to keep (see cleaner-batch.ts): their tombstones stay. */
  private readonly pinned = new Set<string>();

  /** Distinct keys held. */
  get size(): number {
    return this.latest.size;
  }

  /** Records that the key data[start, start + length) occurs at `offset` (offsets come in increasing order). */
  put(data: Buffer, start: number, length: number, offset: number): void {
    this.latest.set(keyId(data, start, length), offset);
  }

  /** Highest offset of the key, or -1 when it was not seen. */
  get(data: Buffer, start: number, length: number): number {
    return this.latest.get(keyId(data, start, length)) ?? -1;
  }

  pin(data: Buffer, start: number, length: number): void {
    this.pinned.add(keyId(data, start, length));
  }

  isPinned(data: Buffer, start: number, length: number): boolean {
    return this.pinned.size > 0 && this.pinned.has(keyId(data, start, length));
  }
}

function keyId(data: Buffer, start: number, length: number): string {
  if (length <= MAX_LITERAL_KEY) return data.toString('latin1', start, start + length);
  return createHash('sha256').update(data.subarray(start, start + length)).digest('base64');
}
