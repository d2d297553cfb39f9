/**
 * WorkerPool: the public facade over a Piscina pool that runs Sluice's CPU-heavy codec
 * work (compression, decompression, deep validation, recovery of many logs at start) so
 * the event loop is never blocked for long.
 *
 * Each call decides where it runs: inline when the work is smaller than the hop to a
 * worker costs (thresholds.ts, measured), or when the pool is off (`inline: true`), else
 * in a worker. Results are the same either way, byte for byte.
 *
 * Buffers handed to a pooled call: a Buffer that is exactly its ArrayBuffer is MOVED to the
 * worker (no copy) and is empty on the calling thread afterwards; any other Buffer (a
 * slice, a view of a mapped segment) is left alone and its bytes are copied once. So do
 * not read an input after handing it over; validate() hands the bytes back in its result.
 *
 * The Piscina instance is created on the first pooled call, so an unused pool costs no
 * threads. Not thread-safe: one WorkerPool belongs to one thread (normally the main one);
 * its calls may overlap freely, each is independent. Order between calls is not kept:
 * a caller that needs order (one partition's appends) awaits one before the next.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import { assembleBatch, buildBatch, encodeRecords, type BatchInfo, type BatchOptions, type RecordInput } from '../record/builder.js';
import { compress, decompress, DEFAULT_MAX_DECOMPRESSED_SIZE } from '../record/compression.js';
import { ATTRIBUTE_COMPRESSION_MASK, ATTRIBUTES_OFFSET, Compression, toCompression, type CompressionName } from '../record/layout.js';
import { runCompactionJob, type CompactionJob, type CompactionJobResult } from '../storage/cleaner.js';
import type { LogOptions, LogRecoveryReport } from '../storage/log.js';
import { workerEntry } from './entry.js';
import { fromWire, WorkerPoolClosedError } from './errors.js';
import { cloneableLogOptions, recoverLogDirs, replayLogLines, type WireRecoverOutcome } from './recover.js';
import { APPEND_VALIDATE_INLINE_BELOW, COMPRESS_INLINE_BELOW, DECOMPRESS_INLINE_BELOW, DEFAULT_IDLE_TIMEOUT_MS, LEGACY_COMPRESSED_FACTOR, LEGACY_CONVERT_INLINE_BELOW, VALIDATE_INLINE_BELOW } from './thresholds.js';
import { asBuffer, copied, owned, transferListFor } from './transfer.js';
import type { PoolStats, RecoverOutcome, Task, ValidationResult, WorkerPoolOptions } from './types.js';
import { validateChain } from './validate.js';
import { batchesToMessageSet, messageSetToBatch, type DownConvertOptions } from '../record/legacy/convert.js';
import { MESSAGE_ATTRIBUTES_OFFSET, MESSAGE_LOG_OVERHEAD } from '../record/legacy/message-set.js';
import { validateForAppend, type LogValidation, type LogValidatorConfig } from '../record/log-validator.js';

/** Enough pieces per thread that one slow partition does not leave the other threads idle. */
const RECOVERY_CHUNKS_PER_THREAD = 4;

export class WorkerPool {
  readonly threads: number;
  private readonly inline: boolean;
  private readonly compressBelow: number | undefined;
  private readonly decompressBelow: number | undefined;
  private readonly validateBelow: number | undefined;
  private readonly idleTimeout: number;
  private piscina: Piscina | null = null;
  private closed = false;
  private inlineRuns = 0;
  private pooledRuns = 0;

  constructor(options: WorkerPoolOptions = {}) {
    this.threads = positiveInt('threads', options.threads ?? os.availableParallelism());
    this.inline = options.inline ?? false;
    this.compressBelow = options.compressInlineBelow;
    this.decompressBelow = options.decompressInlineBelow;
    this.validateBelow = options.validateInlineBelow;
    this.idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** Compresses a records section (gzip, snappy, lz4; none returns it; zstd rejects). */
  async compress(codec: Compression | CompressionName, data: Buffer): Promise<Buffer> {
    this.checkOpen();
    const c = toCompression(codec);
    if (this.runsInline(c, data.length, this.compressBelow ?? COMPRESS_INLINE_BELOW[c])) return compress(c, data);
    const input = owned(data);
    return asBuffer(await this.run<Uint8Array>({ kind: 'compress', codec: c, data: input }, transferListFor(input)));
  }

  /** Decompresses a records section, refusing anything that could exceed maxSize (default 64 MiB). */
  async decompress(codec: number | CompressionName, data: Buffer, maxSize = DEFAULT_MAX_DECOMPRESSED_SIZE): Promise<Buffer> {
    this.checkOpen();
    const c = typeof codec === 'string' ? toCompression(codec) : codec;
    if (this.runsInline(c, data.length, this.decompressBelow ?? DECOMPRESS_INLINE_BELOW[c])) {
      return decompress(c, data, { maxSize });
    }
    const input = owned(data);
    const task: Task = { kind: 'decompress', codec: c, data: input, maxSize };
    return asBuffer(await this.run<Uint8Array>(task, transferListFor(input)));
  }

  /**
   * buildBatch (record/builder.ts) with the codec off the calling thread: the records are
   * encoded here (cheap, and records are not cloneable cheaply), the section is moved to
   * a worker that compresses it and adds the header. Small sections and codec none stay inline.
   */
  async buildBatch(records: readonly RecordInput[], options: BatchOptions = {}): Promise<Buffer> {
    this.checkOpen();
    const codec = toCompression(options.compression);
    if (codec === Compression.None || codec === Compression.Zstd || this.inline) {
      this.inlineRuns++;
      return buildBatch(records, options);
    }
    const section = encodeRecords(records, options);
    const { now: _now, compression: _compression, ...header } = options;
    const info = { ...header, compression: codec, count: section.count, baseTimestamp: section.baseTimestamp, maxTimestamp: section.maxTimestamp };
    return this.compressSection(section.data, info);
  }

  /**
   * A whole batch from an encoded, uncompressed records section (BatchWriter.section):
   * compressed with info.compression (here when small, else on a worker), header and CRC
   * in front. The section stays the caller's: it is only read before this returns (a
   * section for a worker is copied first). The result is a new Buffer.
   */
  finishBatch(section: Buffer, info: BatchInfo): Promise<Buffer> {
    try {
      this.checkOpen();
      const codec = toCompression(info.compression);
      if (codec === Compression.None || codec === Compression.Zstd || this.inline) {
        this.inlineRuns++;
        return Promise.resolve(assembleBatch(codec === Compression.None ? section : compress(codec, section), info));
      }
      return this.compressSection(section, { ...info, compression: codec }, true);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Compresses a section and adds the header, here when small, else on a worker. A
   * `borrowed` section is copied for the worker (synchronously, before the first await);
   * one this pool owns may be moved there.
   */
  private async compressSection(section: Buffer, info: BatchInfo & { compression: Compression }, borrowed = false): Promise<Buffer> {
    const codec = info.compression;
    if (this.runsInline(codec, section.length, this.compressBelow ?? COMPRESS_INLINE_BELOW[codec])) {
      return assembleBatch(compress(codec, section), info);
    }
    const input = borrowed ? copied(section) : owned(section);
    return asBuffer(await this.run<Uint8Array>({ kind: 'buildBatch', section: input, info }, transferListFor(input)));
  }

  /**
   * Deep validation of a chain of batches (validate.ts): CRC, decompression, every record's
   * bounds, counts and offset deltas. Bad bytes resolve with ok: false, never reject.
   * Read the bytes from result.data afterwards: `batches` itself may have been moved.
   */
  async validate(batches: Buffer, maxSize = DEFAULT_MAX_DECOMPRESSED_SIZE): Promise<ValidationResult> {
    this.checkOpen();
    // The first batch's codec says what validating will cost; an unknown one fails at once.
    const codec = batches.length > ATTRIBUTES_OFFSET + 1 ? batches[ATTRIBUTES_OFFSET + 1]! & ATTRIBUTE_COMPRESSION_MASK : Compression.None;
    const below = this.validateBelow ?? VALIDATE_INLINE_BELOW[codec] ?? Infinity;
    if (this.inline || batches.length < below) {
      this.inlineRuns++;
      return validateChain(batches, maxSize);
    }
    const input = owned(batches);
    const result = await this.run<ValidationResult>({ kind: 'validate', batches: input, maxSize }, transferListFor(input));
    return { ...result, data: asBuffer(result.data) };
  }

  /**
   * Kafka's LogValidator rules on a chain a producer sent (record/log-validator.ts), here when
   * small, else on a worker. Headers may be fixed (maxTimestamp, CRC): append result.data,
   * not `batches`, which may have been moved to the worker.
   */
  async validateForAppend(batches: Buffer, config: LogValidatorConfig): Promise<LogValidation> {
    this.checkOpen();
    const codec = batches.length > ATTRIBUTES_OFFSET + 1 ? batches[ATTRIBUTES_OFFSET + 1]! & ATTRIBUTE_COMPRESSION_MASK : Compression.None;
    const below = this.validateBelow ?? APPEND_VALIDATE_INLINE_BELOW[codec] ?? Infinity;
    if (this.inline || batches.length < below) {
      this.inlineRuns++;
      return validateForAppend(batches, config);
    }
    const input = owned(batches);
    const result = await this.run<LogValidation>({ kind: 'logValidate', batches: input, config }, transferListFor(input));
    return { ...result, data: asBuffer(result.data) };
  }

  /**
   * Opens (recovering where needed) and closes each log, spread over the workers, so the
   * owner's next Log.open of each is a cheap clean open. Reports come back in input order.
   * If any log fails, rejects with the first failure (input order) once every log is
   * done; recoverLogsSettled gives each log's outcome instead. The logs must not be open
   * meanwhile.
   */
  async recoverLogs(logs: { dir: string; config: LogOptions }[]): Promise<LogRecoveryReport[]> {
    const outcomes = await this.recoverLogsSettled(logs);
    const failed = outcomes.find((o) => 'error' in o);
    if (failed !== undefined) throw (failed as { error: unknown }).error;
    return outcomes.map((o) => (o as { report: LogRecoveryReport }).report);
  }

  /**
   * recoverLogs, with each log's report or error (same class as inline) in input order, so
   * one bad directory does not hide the others. Each config's logger gets the lines an
   * inline Log.open would have logged. Rejects only when a worker itself fails.
   */
  async recoverLogsSettled(logs: { dir: string; config: LogOptions }[]): Promise<RecoverOutcome[]> {
    this.checkOpen();
    let outcomes: WireRecoverOutcome[];
    if (this.inline || logs.length === 0) {
      this.inlineRuns++;
      outcomes = await recoverLogDirs(logs);
    } else {
      const size = Math.ceil(logs.length / Math.min(logs.length, this.threads * RECOVERY_CHUNKS_PER_THREAD));
      const chunks: Promise<WireRecoverOutcome[]>[] = [];
      for (let i = 0; i < logs.length; i += size) {
        const part = logs.slice(i, i + size).map((l) => ({ dir: l.dir, config: cloneableLogOptions(l.config) }));
        chunks.push(this.run<WireRecoverOutcome[]>({ kind: 'recoverLogs', logs: part }, []));
      }
      // Wait for every chunk even when one fails: no worker may still hold a log open.
      const settled = await Promise.allSettled(chunks);
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      outcomes = settled.flatMap((s) => (s as PromiseFulfilledResult<WireRecoverOutcome[]>).value);
    }
    return outcomes.map((o, i) => {
      replayLogLines(o.lines, logs[i]!.config.logger);
      return 'report' in o ? { report: o.report } : { error: fromWire(o.error) };
    });
  }

  /**
   * A producer's legacy message set (Produce v0-2) as one RecordBatch v2
   * (record/legacy/convert.ts), on a worker when the set is large. `set` may be moved.
   */
  async upConvert(set: Buffer, maxSize = DEFAULT_MAX_DECOMPRESSED_SIZE): Promise<Buffer> {
    this.checkOpen();
    if (this.inline || legacyWork(set, MESSAGE_LOG_OVERHEAD + MESSAGE_ATTRIBUTES_OFFSET) < LEGACY_CONVERT_INLINE_BELOW) {
      this.inlineRuns++;
      return messageSetToBatch(set, { maxDecompressedSize: maxSize });
    }
    const input = owned(set);
    return asBuffer(await this.run<Uint8Array>({ kind: 'upConvert', set: input, maxSize }, transferListFor(input)));
  }

  /**
   * A chain of v2 batches as a legacy message set for Fetch v0-3 (record/legacy/convert.ts),
   * on a worker when the chain is large. The chain is only read (a worker gets a copy: it
   * may view a mapped segment).
   */
  async downConvert(chain: Buffer, options: DownConvertOptions): Promise<Buffer> {
    this.checkOpen();
    if (this.inline || legacyWork(chain, ATTRIBUTES_OFFSET + 1) < LEGACY_CONVERT_INLINE_BELOW) {
      this.inlineRuns++;
      return batchesToMessageSet(chain, options).data;
    }
    const input = copied(chain);
    return asBuffer(await this.run<Uint8Array>({ kind: 'downConvert', chain: input, options }, transferListFor(input)));
  }

  /**
   * Runs a log's compaction job (storage/cleaner.ts: offset map, .cleaned files) in a
   * worker, or inline when the pool is inline; pass the pool to Log.compact rather than
   * calling this. No size threshold: a job reads whole segments, always worth the hop.
   * Jobs of different logs run in parallel; Log.compact never runs two of one log at once.
   */
  async compactSegments(job: CompactionJob): Promise<CompactionJobResult> {
    this.checkOpen();
    if (this.inline) {
      this.inlineRuns++;
      return runCompactionJob(job);
    }
    return this.run<CompactionJobResult>({ kind: 'compactSegments', job }, []);
  }

  stats(): PoolStats {
    const p = this.piscina;
    return {
      threads: this.inline ? 0 : this.threads,
      queueSize: p?.queueSize ?? 0,
      utilization: p?.utilization ?? 0,
      completed: p?.completed ?? 0,
      inlineRuns: this.inlineRuns,
      pooledRuns: this.pooledRuns,
    };
  }

  /** Stops the workers (tasks still queued reject); later calls reject with WorkerPoolClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    const p = this.piscina;
    this.piscina = null;
    if (p !== null) await p.destroy();
  }

  // ---------------------------------------------------------------------------------------

  /** True (and counted) when this call runs inline: pool off, no codec, zstd, or small. */
  private runsInline(codec: number, size: number, below: number | undefined): boolean {
    // No threshold: zstd compress (it throws) and codec ids 5-7 (errors): nothing to hand over.
    const inline = this.inline || codec === Compression.None || below === undefined || size < below;
    if (inline) this.inlineRuns++;
    return inline;
  }

  private async run<R>(task: Task, transferList: ArrayBuffer[]): Promise<R> {
    const piscina = this.engine();
    this.pooledRuns++;
    try {
      return (await piscina.run(task, { transferList })) as R;
    } catch (err) {
      throw fromWire(err);
    }
  }

  private engine(): Piscina {
    this.checkOpen();
    this.piscina ??= new Piscina({
      filename: workerEntry(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: this.idleTimeout,
      // Not 'sync': a worker blocked in Atomics.wait between tasks never returns to its
      // event loop, so finalizers of napi buffers (lz4-napi's outputs) wait, external
      // memory piles up and GC slows every task (measured: RSS 650 MB against 330 MB and
      // 1 MB lz4 validations 1.4x slower). 'async' waits without blocking the loop.
      atomics: 'async',
    });
    return this.piscina;
  }

  private checkOpen(): void {
    if (this.closed) throw new WorkerPoolClosedError('the worker pool is closed');
  }
}

/**
 * What converting `input` costs, in uncompressed bytes: its length, times
 * LEGACY_COMPRESSED_FACTOR when its first entry (message or batch; codec bits at `codecAt`)
 * is compressed, since those bytes are inflated and then every record rewritten.
 */
function legacyWork(input: Buffer, codecAt: number): number {
  const compressed = input.length > codecAt && (input[codecAt]! & ATTRIBUTE_COMPRESSION_MASK) !== Compression.None;
  return compressed ? input.length * LEGACY_COMPRESSED_FACTOR : input.length;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`WorkerPool ${name} must be a positive integer, got ${v}`);
  return v;
}
