/**
 * Offset index (.index), Kafka's layout: 8-byte entries, big-endian.
 *
 *   offset  size  field
 *        0     4  relativeOffset  last offset of an indexed batch - segment base offset
 *        4     4  position        byte position of that batch in the .log
 *
 * An entry is added when at least index.interval.bytes of log were written since the last.
 * A lookup finds the last entry at or below the target; the batch holding the target is at
 * that position or after it. Not thread-safe.
 */
import { IndexFile } from './index-file.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex extends IndexFile {
  protected readonly entrySize = OFFSET_INDEX_ENTRY_SIZE;

  constructor(path: string, readonly baseOffset: number, maxBytes: number) {
    super(path, Math.floor(maxBytes / OFFSET_INDEX_ENTRY_SIZE));
  }

  /** Records that the batch ending at `lastOffset` starts at `position`. */
  append(lastOffset: number, position: number): void {
    this.push(lastOffset - this.baseOffset, position);
  }

  /** Position to start scanning from for `offset`: the last entry at or below it, else 0. */
  lookup(offset: number): number {
    const i = this.floor(offset - this.baseOffset, false);
    return i < 0 ? 0 : this.values[i]!;
  }

  /**
   * lookup, with the last offset of the batch the entry points at (-1 when there is no entry
   * at or below `offset` and the scan starts at byte 0).
   */
  lookupEntry(offset: number): { position: number; lastOffset: number } {
    const i = this.floor(offset - this.baseOffset, false);
    return i < 0 ? { position: 0, lastOffset: -1 } : { position: this.values[i]!, lastOffset: this.keys[i]! + this.baseOffset };
  }

  /** Entries whose batch starts before `position` (for truncation). */
  entriesBefore(position: number): number {
    let n = this.count;
    while (n > 0 && this.values[n - 1]! >= position) n--;
    return n;
  }

  protected encode(buf: Buffer, pos: number, key: number, value: number): void {
    buf.writeInt32BE(key, pos);
    buf.writeInt32BE(value, pos + 4);
  }
  protected decodeKey(buf: Buffer, pos: number): number {
    return buf.readInt32BE(pos);
  }
  protected decodeValue(buf: Buffer, pos: number): number {
    return buf.readInt32BE(pos + 4);
  }
  protected check(logSize: number): string | null {
    for (let i = 0; i < this.count; i++) {
      const rel = this.keys[i]!;
      const position = this.values[i]!;
      if (rel < 0 || position < 0 || position >= logSize) {
        return `entry ${i} (relative offset ${rel}, position ${position}) is outside the ${logSize}-byte log`;
      }
      if (i > 0 && (rel <= this.keys[i - 1]! || position <= this.values[i - 1]!)) {
        return `entry ${i} (relative offset ${rel}, position ${position}) does not increase`;
      }
    }
    return null;
  }
}
