/**
 * Time index (.timeindex), Kafka's layout: 12-byte entries, big-endian.
 *
 *   offset  size  field
 *        0     8  timestamp       largest timestamp in the segment up to this entry
 *        8     4  relativeOffset  last offset of the batch that holds it - segment base offset
 *
 * Entries only ever increase in timestamp. All records at or before an entry's offset have
 * timestamps at or below its timestamp, so the first record at or after a target time lies
 * after the last entry whose timestamp is below the target. Not thread-safe.
 */
import { readInt64, writeInt64 } from '../record/header.js';
import { IndexFile } from './index-file.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex extends IndexFile {
  protected readonly entrySize = TIME_INDEX_ENTRY_SIZE;

  constructor(path: string, readonly baseOffset: number, maxBytes: number) {
    super(path, Math.floor(maxBytes / TIME_INDEX_ENTRY_SIZE));
  }

  /** Adds (timestamp, offset) when the timestamp is newer than the last entry's. */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp > this.lastKey && timestamp >= 0) this.push(timestamp, offset - this.baseOffset);
  }

  /** Offset after which the first record at or after `timestamp` lies, or -1 for the start. */
  lookupBefore(timestamp: number): number {
    const i = this.floor(timestamp, true);
    return i < 0 ? -1 : this.values[i]! + this.baseOffset;
  }

  /** Entries whose offset is below `offset` (for truncation). */
  entriesBelow(offset: number): number {
    let n = this.count;
    while (n > 0 && this.values[n - 1]! + this.baseOffset >= offset) n--;
    return n;
  }

  protected encode(buf: Buffer, pos: number, key: number, value: number): void {
    writeInt64(buf, pos, key);
    buf.writeInt32BE(value, pos + 8);
  }
  protected decodeKey(buf: Buffer, pos: number): number {
    return readInt64(buf, pos);
  }
  protected decodeValue(buf: Buffer, pos: number): number {
    return buf.readInt32BE(pos + 8);
  }
  protected check(): string | null {
    for (let i = 0; i < this.count; i++) {
      if (this.values[i]! < 0) return `entry ${i} has a negative relative offset`;
      if (i > 0 && (this.keys[i]! <= this.keys[i - 1]! || this.values[i]! < this.values[i - 1]!)) {
        return `entry ${i} (timestamp ${this.keys[i]}, relative offset ${this.values[i]}) does not increase`;
      }
    }
    return null;
  }
}
