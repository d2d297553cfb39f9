/**
 * `sluice dump-log`: prints what segment files hold, batch by batch, like Kafka's
 * kafka-dump-log.sh. Reads the files directly (no broker needed): .log (RecordBatch v2 chains,
 * with --print-data-log every record), .index (offset -> position), .timeindex
 * (timestamp -> offset) and .txnindex (aborted transactions). Layouts: src/record/layout.ts,
 * src/storage/offset-index.ts, src/storage/time-index.ts, src/storage/txn-index.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readBatchHeader, readInt64 } from '../record/header.js';
import { compressionName, LENGTH_OFFSET, LOG_OVERHEAD, MIN_BATCH_LENGTH, TimestampType, type Compression } from '../record/layout.js';
import { isValidBatch, readRecords } from '../record/reader.js';
import { parseOffsetsRecord } from '../group/offsets-message-parser.js';
import { describeQuarantine, QUARANTINE_DIR, QUARANTINE_RECORD, readQuarantine, type QuarantineEntry } from '../storage/quarantine.js';
import { readEndTransactionMarker } from '../record/control.js';
import { ABORTED_TXN_SIZE, readTxnIndex } from '../storage/txn-index.js';
import { parse, required, UsageError } from './args.js';

export const DUMP_LOG_HELP = `Usage: sluice dump-log --files F[,F2...] [--print-data-log] [--offsets-decoder]

Decodes segment files of a data directory (<dir>/<topic>-<partition>/), without a broker:
  .log        each batch: offsets, count, position, timestamp, size, magic, codec, whether
              its CRC is valid, transactional flags, producer id/epoch/sequence; and the
              ranges of the segment quarantined as damaged (quarantine/quarantine.jsonl),
              whose offsets an empty batch stands for
  .index      each entry: offset and byte position in the .log
  .timeindex  each entry: timestamp and offset
  .txnindex   each aborted transaction: producer id, first offset, offset of its abort
              marker, last stable offset after it
Stop the broker first (or copy the files) to read a consistent state.

Options:
  --files <paths>            comma-separated segment files (required; repeatable)
  --print-data-log           with .log files: also print every record (offset, timestamp,
                             key, value, headers)
  --offsets-decoder          decode records as __consumer_offsets ones (offset commits and
                             group metadata, as JSON, like Kafka's --offsets-decoder);
                             implies --print-data-log
  --max-bytes <n>            stop after this many bytes of each file (default: all)
  -h, --help                 this help
`;

const OPTIONS = {
  files: { type: 'string', multiple: true },
  'print-data-log': { type: 'boolean' },
  'offsets-decoder': { type: 'boolean' },
  'deep-iteration': { type: 'boolean' },
  'max-bytes': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Base offset from a segment file name (20 digits), 0 when the name has none. */
function baseOffsetOf(file: string): number {
  const m = /^(\d+)\./.exec(path.basename(file));
  return m ? Number(m[1]) : 0;
}

export async function dumpLog(argv: string[]): Promise<number> {
  const v = parse(argv, OPTIONS);
  if (v.help) {
    process.stdout.write(DUMP_LOG_HELP);
    return 0;
  }
  const files = required(v.files, 'files', '(the segment files to read)').flatMap((f) => f.split(',')).filter((f) => f !== '');
  const maxBytes = v['max-bytes'] === undefined ? Infinity : Number(v['max-bytes']);
  if (!(maxBytes > 0)) throw new UsageError(`invalid value '${v['max-bytes']}' for --max-bytes: a whole number 1 or more`);
  for (const file of files) {
    const ext = path.extname(file);
    if (!['.log', '.index', '.timeindex', '.txnindex'].includes(ext)) {
      throw new UsageError(`cannot dump '${file}': --files takes .log, .index, .timeindex or .txnindex files`);
    }
  }
  const out = (s: string) => process.stdout.write(s);
  for (const file of files) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new Error(`cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      out(`Dumping ${file}\n`);
      const size = Math.min(fs.fstatSync(fd).size, maxBytes);
      const ext = path.extname(file);
      const offsets = v['offsets-decoder'] === true;
      if (ext === '.log') {
        const quarantined = readQuarantine(path.dirname(file)).filter((q) => q.segment === path.basename(file));
        for (const q of quarantined) out(`Quarantined: offsets ${describeQuarantine(q)}, found at ${q.foundBy === 'read' ? 'a read' : 'open'} on ${q.at}: ${q.reason}\n`);
        if (quarantined.length > 0) out(`(record: ${path.join(path.dirname(file), QUARANTINE_DIR, QUARANTINE_RECORD)})\n`);
        dumpSegment(fd, size, baseOffsetOf(file), offsets || v['print-data-log'] === true || v['deep-iteration'] === true, offsets, out, quarantined);
      }
      else if (ext === '.txnindex') dumpTxnIndex(file, out);
      else dumpIndex(fd, size, baseOffsetOf(file), ext === '.index', out);
    } finally {
      fs.closeSync(fd);
    }
  }
  return 0;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

function isAllZero(fd: number, from: number, to: number): boolean {
  for (let pos = from; pos < to; pos += 1 << 20) {
    const chunk = readAt(fd, pos, Math.min(1 << 20, to - pos));
    if (chunk.some((b) => b !== 0)) return false;
  }
  return true;
}

function dumpSegment(fd: number, size: number, base: number, records: boolean, offsets: boolean, out: (s: string) => void, quarantined: readonly QuarantineEntry[] = []): void {
  out(`Log starting offset: ${base}\n`);
  let position = 0;
  while (position < size) {
    const left = size - position;
    const head = left >= LOG_OVERHEAD ? readAt(fd, position, LOG_OVERHEAD) : null;
    const batchLength = head?.readInt32BE(LENGTH_OFFSET) ?? 0;
    if (head === null || batchLength < MIN_BATCH_LENGTH || batchLength + LOG_OVERHEAD > left) {
      // A segment's file space is reserved ahead of its tail: zeros there are not damage.
      if (isAllZero(fd, position, size)) out(`${left} bytes of reserved (zero) space at the end, from position ${position}\n`);
      else out(`Found ${left} invalid bytes at the end, from position ${position}\n`);
      return;
    }
    const batch = readAt(fd, position, batchLength + LOG_OVERHEAD);
    const h = readBatchHeader(batch);
    const valid = isValidBatch(batch);
    const timeType = h.timestampType === TimestampType.LogAppendTime ? 'LogAppendTime' : 'CreateTime';
    const lastSequence = h.baseSequence < 0 ? -1 : h.baseSequence + h.lastOffsetDelta;
    out(
      `baseOffset: ${h.baseOffset} lastOffset: ${h.lastOffset} count: ${h.recordsCount} baseSequence: ${h.baseSequence} lastSequence: ${lastSequence}` +
        ` producerId: ${h.producerId} producerEpoch: ${h.producerEpoch} partitionLeaderEpoch: ${h.partitionLeaderEpoch}` +
        ` isTransactional: ${h.isTransactional} isControl: ${h.isControl} position: ${position} ${timeType}: ${h.maxTimestamp}` +
        ` size: ${h.sizeInBytes} magic: ${h.magic} compresscodec: ${codecName(h.compression)} crc: ${h.crc} isvalid: ${valid}` +
        `${h.recordsCount === 0 && quarantined.some((q) => q.firstOffset === h.baseOffset && q.nextOffset === h.lastOffset + 1) ? ' quarantined: true' : ''}\n`,
    );
    if (records && h.isControl) dumpControl(batch, out);
    else if (records) dumpRecords(batch, h.baseSequence, timeType, valid, offsets, out);
    position += h.sizeInBytes;
  }
}

/** A transaction marker, as Kafka prints it: `endTxnMarker: COMMIT coordinatorEpoch: 0`. */
function dumpControl(batch: Buffer, out: (s: string) => void): void {
  try {
    const m = readEndTransactionMarker(batch);
    out(`| offset: ${m.offset} endTxnMarker: ${m.committed ? 'COMMIT' : 'ABORT'} coordinatorEpoch: ${m.coordinatorEpoch}\n`);
  } catch (err) {
    out(`| control record not a transaction marker: ${(err as Error).message}\n`);
  }
}

function dumpTxnIndex(file: string, out: (s: string) => void): void {
  const entries = readTxnIndex(file);
  for (const e of entries) out(`version: 0 producerId: ${e.producerId} firstOffset: ${e.firstOffset} lastOffset: ${e.lastOffset} lastStableOffset: ${e.lastStableOffset}\n`);
  const size = fs.statSync(file).size;
  if (size !== entries.length * ABORTED_TXN_SIZE) out(`Found ${size - entries.length * ABORTED_TXN_SIZE} bytes after the last valid entry (entries are ${ABORTED_TXN_SIZE} bytes)\n`);
  if (entries.length === 0) out('(no entries)\n');
}

function codecName(c: Compression): string {
  return c <= 4 ? compressionName(c) : `unknown(${c})`;
}

function dumpRecords(batch: Buffer, baseSequence: number, timeType: string, valid: boolean, offsets: boolean, out: (s: string) => void): void {
  let list;
  try {
    list = readRecords(batch, { verifyCrc: valid });
  } catch (err) {
    out(`| records not readable: ${(err as Error).message}\n`);
    return;
  }
  const base = readInt64(batch, 0);
  for (const r of list) {
    const sequence = baseSequence < 0 ? -1 : baseSequence + (r.offset - base);
    const headers = r.headers.map((x) => `${x.key}=${x.value === null ? 'null' : x.value.toString('utf8')}`).join(',');
    if (offsets) {
      const meta = `| offset: ${r.offset} ${timeType}: ${r.timestamp} keySize: ${r.key?.length ?? -1} valueSize: ${r.value?.length ?? -1} sequence: ${sequence} headerKeys: [${r.headers.map((x) => x.key).join(',')}]`;
      if (r.key === null) {
        out(`${meta} (no key: not a __consumer_offsets record)\n`);
        continue;
      }
      const p = parseOffsetsRecord(r.offset, r.key, r.value);
      out(`${meta} key: ${p.key}${p.payload === null ? '' : ` payload: ${p.payload}`}\n`);
      continue;
    }
    out(
      `| offset: ${r.offset} ${timeType}: ${r.timestamp} keySize: ${r.key?.length ?? -1} valueSize: ${r.value?.length ?? -1} sequence: ${sequence}` +
        ` headerKeys: [${r.headers.map((x) => x.key).join(',')}] key: ${r.key === null ? 'null' : r.key.toString('utf8')}` +
        ` payload: ${r.value === null ? 'null' : r.value.toString('utf8')}${headers === '' ? '' : ` headers: ${headers}`}\n`,
    );
  }
}

function dumpIndex(fd: number, size: number, base: number, offsetIndex: boolean, out: (s: string) => void): void {
  const entrySize = offsetIndex ? 8 : 12;
  const buf = readAt(fd, 0, size - (size % entrySize));
  let entries = 0;
  for (let pos = 0; pos < buf.length; pos += entrySize) {
    if (offsetIndex) {
      const rel = buf.readInt32BE(pos);
      const position = buf.readInt32BE(pos + 4);
      // Only the first entry may be (0, 0); later zeros are unused space.
      if (pos > 0 && rel === 0 && position === 0) break;
      out(`offset: ${base + rel} position: ${position}\n`);
    } else {
      const timestamp = readInt64(buf, pos);
      const rel = buf.readInt32BE(pos + 8);
      if (pos > 0 && timestamp === 0 && rel === 0) break;
      out(`timestamp: ${timestamp} offset: ${base + rel}\n`);
    }
    entries++;
  }
  if (size % entrySize !== 0) out(`Found ${size % entrySize} bytes after the last whole entry (entries are ${entrySize} bytes)\n`);
  if (entries === 0) out('(no entries)\n');
}
