/**
 * Migration of a data directory written before `__consumer_offsets` used Kafka's record format:
 * one log `__consumer_offsets-0` of msgpack records (offset-record-msgpack.ts) and no
 * `__consumer_offsets.json`. Those logs held committed offsets only (with leader epoch,
 * metadata, commit and expire timestamps); group generations were never stored.
 *
 * Steps, each safe to repeat after a crash:
 *
 *   1. finish or undo an interrupted compaction of the old log, replay it into memory (the
 *      last record of a key wins, tombstones delete; a record in Kafka's format stops
 *      everything with an error, as the log is then the new topic missing its .json file)
 *   2. rename __consumer_offsets-0 -> __consumer_offsets-0.msgpack (directory fsynced)
 *   3. delete partition directories a cut-short earlier run left, write every live offset into
 *      its group's partition of the new topic, close (fsync) every new log
 *   4. write __consumer_offsets.json (fsynced): the commit point; from here the new topic is it
 *   5. delete __consumer_offsets-0.msgpack
 *
 * Before step 4 an open starts over, replaying the .msgpack directory (still whole); after
 * it, open only deletes a leftover .msgpack directory. Not thread-safe: runs once, in open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { batchesIn, readRecords } from '../record/index.js';
import { Log, type LogOptions } from '../storage/index.js';
import { decodeLegacyOffsetKey, decodeLegacyOffsetValue } from './offset-record-msgpack.js';
import { encodeOffsetCommitKey, encodeOffsetCommitValue, offsetsPartitionFor } from './offset-record.js';
import { fsyncDir, OFFSETS_TOPIC, OFFSETS_TOPIC_META_FILE, offsetsLogDir, recoverInterruptedSwap, writeRecords, type OffsetsTopicMeta } from './offset-store.js';
import type { CommittedOffset, GroupLogger } from './types.js';
import type { RecordInput } from '../record/index.js';

const LEGACY_LOG_DIR = '__consumer_offsets-0';
export const LEGACY_STAGING_DIR = `${LEGACY_LOG_DIR}.msgpack`;
/** Any of these without `__consumer_offsets.json` means a data directory of the msgpack era. */
export const LEGACY_OFFSETS_DIRS = [LEGACY_LOG_DIR, `${LEGACY_LOG_DIR}.compacting`, `${LEGACY_LOG_DIR}.old`, LEGACY_STAGING_DIR];

export interface LegacyOffset {
  groupId: string;
  topic: string;
  partition: number;
  value: CommittedOffset;
}

/** Reads the live offsets of a msgpack-era offsets log (steps 1-2 done by the caller). */
export async function readLegacyOffsets(logDir: string, options: LogOptions): Promise<{ offsets: LegacyOffset[]; skipped: number }> {
  const live = new Map<string, LegacyOffset>();
  let skipped = 0;
  const log = Log.open(logDir, options);
  try {
    for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
      const r = log.read(offset, 8 * 1024 * 1024);
      if (r.records.length === 0) break;
      for (const batch of batchesIn(r.records)) {
        for (const rec of readRecords(batch)) {
          let key: ReturnType<typeof decodeLegacyOffsetKey> = null;
          let value: CommittedOffset | null = null;
          try {
            key = rec.key === null ? null : decodeLegacyOffsetKey(rec.key);
            value = rec.value === null ? null : decodeLegacyOffsetValue(rec.value);
          } catch {
            key = null;
          }
          if (key === null || (rec.value !== null && value === null)) {
            // A Kafka-format key (int16 version 0-2 first) means this is not a msgpack-era log
            // but the new topic with its __consumer_offsets.json gone: migrating would lose it.
            if (rec.key !== null && rec.key.length >= 2 && rec.key[0] === 0 && rec.key[1]! <= 2) {
              throw new Error(
                `${logDir} holds __consumer_offsets records in Kafka's format, but ${path.join(path.dirname(logDir), OFFSETS_TOPIC_META_FILE)} is missing: ` +
                  `restore that file (it names the partition count and topic id) rather than let Sluice migrate the directory as an old msgpack log; nothing was changed`,
              );
            }
            skipped++;
            continue;
          }
          const id = JSON.stringify([key.groupId, key.topic, key.partition]);
          // As the store replays: an overwrite keeps the key's place, a tombstone removes it.
          if (value === null) live.delete(id);
          else live.set(id, { ...key, value });
        }
      }
      offset = r.nextOffset;
    }
  } finally {
    await log.close();
  }
  return { offsets: [...live.values()], skipped };
}

/** Runs steps 1-5 (see the file comment); `commit` writes `__consumer_offsets.json`. */
export async function migrateLegacyOffsets(dir: string, meta: OffsetsTopicMeta, options: LogOptions, logger: GroupLogger, commit: () => void): Promise<void> {
  const staging = path.join(dir, LEGACY_STAGING_DIR);
  // The msgpack era had one partition: more partition directories mean the file went missing.
  if (fs.existsSync(path.join(dir, offsetsLogDir(1))) && !fs.existsSync(staging)) {
    throw new Error(
      `${dir} has ${offsetsLogDir(1)} but no ${OFFSETS_TOPIC_META_FILE}: restore that file (it names the partition count and topic id of ${OFFSETS_TOPIC}); nothing was changed`,
    );
  }
  const legacy = path.join(dir, LEGACY_LOG_DIR);
  const staged = fs.existsSync(staging);
  if (!staged) recoverInterruptedSwap(legacy, logger);
  // Read before anything moves: a log that is not of the msgpack era stops the migration here.
  const { offsets, skipped } = await readLegacyOffsets(staged ? staging : legacy, options);
  if (!staged) {
    fs.renameSync(legacy, staging);
    fsyncDir(dir);
  }
  const byPartition: RecordInput[][] = Array.from({ length: meta.partitions }, () => []);
  for (const o of offsets) {
    byPartition[offsetsPartitionFor(o.groupId, meta.partitions)]!.push({
      key: encodeOffsetCommitKey(o),
      value: encodeOffsetCommitValue(o.value),
      timestamp: o.value.commitTimestamp,
    });
  }
  const now = options.time?.() ?? Date.now();
  for (let p = 0; p < meta.partitions; p++) {
    const logDir = path.join(dir, offsetsLogDir(p));
    for (const d of [logDir, `${logDir}.compacting`, `${logDir}.old`]) fs.rmSync(d, { recursive: true, force: true });
    const log = Log.open(logDir, options);
    try {
      writeRecords(log, byPartition[p]!, now);
    } finally {
      await log.close();
    }
  }
  fsyncDir(dir);
  commit();
  fs.rmSync(staging, { recursive: true, force: true });
  const groups = new Set(offsets.map((o) => o.groupId)).size;
  logger.warn(
    { dir, groups, offsets: offsets.length, skipped, partitions: meta.partitions },
    `migrated the offsets log to Kafka's __consumer_offsets record format (${offsets.length} committed offsets of ${groups} groups)`,
  );
}
