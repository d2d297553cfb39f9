import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildBatch, buildEndTransactionMarker, RECORDS_OFFSET, MessageTooLargeError, UnknownTopicError, partitionForKey, type ConsumerRecord, type RecordMetadata } from '../src/index.js';
import { openSluice } from './helpers/sluice.js';

async function drain(c: { poll(o?: { timeoutMs?: number }): Promise<ConsumerRecord[]> }, expected: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = [];
  for (let i = 0; i < 200 && out.length < expected; i++) out.push(...(await c.poll({ timeoutMs: 200 })));
  return out;
}

describe('producer and consumer', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4'] as const) {
    it(`round-trips keyed records across partitions with ${compression}`, async () => {
      const s = await openSluice({ workerThreads: compression === 'lz4' ? 2 : 0 });
      await s.createTopic('t', { partitions: 4 });
      const producer = s.producer({ compression });
      const sent = [];
      for (let i = 0; i < 2000; i++) {
        sent.push({ key: `user-${i % 37}`, value: `event ${i} `.repeat(5), headers: { seq: String(i) }, timestamp: 1_700_000_000_000 + i });
      }
      const meta = (await Promise.all([producer.send('t', sent.slice(0, 700)), producer.send('t', sent.slice(700))])).flat();
      for (let i = 0; i < sent.length; i++) expect(meta[i]!.partition).toBe(partitionForKey(Buffer.from(sent[i]!.key), 4));
      const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', keyDeserializer: 'string' });
      c.assign([0, 1, 2, 3].map((partition) => ({ topic: 't', partition })));
      const got = await drain(c, 2000);
      expect(got.length).toBe(2000);
      for (const p of [0, 1, 2, 3]) {
        const mine = got.filter((r) => r.partition === p);
        expect(mine.map((r) => r.offset)).toEqual([...Array(mine.length).keys()]);
        const seqs = mine.map((r) => Number(r.headers[0]!.value!.toString()));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // order within a partition kept
      }
      for (const r of got) {
        const i = Number(r.headers[0]!.value!.toString());
        expect(r.key).toBe(sent[i]!.key);
        expect(r.value).toBe(sent[i]!.value);
        expect(r.timestamp).toBe(sent[i]!.timestamp);
        const m = meta[i]!;
        expect([m.partition, m.offset]).toEqual([r.partition, r.offset]);
      }
      await c.close();
      await producer.close();
    });
  }

  it('spreads keyless records over partitions (sticky per batch) and honours explicit partitions', async () => {
    const s = await openSluice();
    await s.createTopic('t', { partitions: 4 });
    const p = s.producer();
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) for (const m of await p.send('t', [{ value: `v${i}` }, { value: `w${i}` }])) seen.add(m.partition);
    expect(seen.size).toBeGreaterThan(1);
    const [m] = await p.send('t', { value: 'here', partition: 2, key: 'ignored-for-placement' });
    expect(m!.partition).toBe(2);
    await expect(p.send('t', { value: 'x', partition: 9 })).rejects.toThrow(UnknownTopicError);
  });

  it('serializes JS values with msgpack and reads them back when asked', async () => {
    const s = await openSluice();
    const p = s.producer();
    const value = { id: 7, tags: ['a', 'b'], nested: { ok: true, n: 1.5 }, when: new Date(0) };
    await p.send('auto-created', { key: 'k', value });
    expect(s.listTopics()).toContain('auto-created');
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'msgpack' });
    c.assign([{ topic: 'auto-created', partition: 0 }]);
    const [r] = await drain(c, 1);
    expect(r!.value).toEqual(value);
  });

  it('seeks, finds offsets by time, pauses and resumes, bounds a poll and iterates', async () => {
    const s = await openSluice();
    await s.createTopic('t', { partitions: 2 });
    const p = s.producer();
    await p.send('t', Array.from({ length: 100 }, (_, i) => ({ value: `v${i}`, partition: i % 2, timestamp: 1000 + i })));
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string' });
    const tp0 = { topic: 't', partition: 0 };
    const tp1 = { topic: 't', partition: 1 };
    c.assign([tp0, tp1]);
    expect((await c.poll({ maxRecords: 7 })).length).toBe(7);
    c.seek(tp0, 45);
    c.pause([tp1]);
    const from45 = await c.poll({ maxRecords: 100 });
    expect(from45.map((r) => r.offset)).toEqual([45, 46, 47, 48, 49]);
    expect(from45.every((r) => r.partition === 0)).toBe(true);
    expect(c.paused()).toEqual([tp1]);
    c.resume([tp1]);
    c.seekToBeginning([tp1]);
    expect((await c.poll({ maxRecords: 1 }))[0]).toMatchObject({ partition: 1, offset: 0, value: 'v1' });
    expect(c.offsetsForTimes([{ ...tp0, timestamp: 1050 }, { ...tp1, timestamp: 5000 }])).toEqual([
      { ...tp0, offset: 25, timestamp: 1050 },
      { ...tp1, offset: null, timestamp: null },
    ]);
    expect(c.endOffsets([tp0])[0]!.offset).toBe(50);
    c.seekToEnd();
    expect(await c.poll({ timeoutMs: 50 })).toEqual([]);
    // Long poll: a send wakes the waiting poll.
    const waiting = c.poll({ timeoutMs: 5000 });
    setTimeout(() => void p.send('t', { value: 'late', partition: 1 }), 50);
    const woke = await waiting;
    expect(woke.map((r) => r.value)).toEqual(['late']);
    // for await, stopped by close()
    c.seek(tp1, 48);
    const seen: string[] = [];
    for await (const r of c) {
      seen.push(r.value as string);
      if (seen.length === 3) await c.close();
    }
    expect(seen).toEqual(['v97', 'v99', 'late']);
  });

  it('refuses a record larger than max.message.bytes and keeps the others', async () => {
    const s = await openSluice();
    await s.createTopic('small', { config: { 'max.message.bytes': 2000 } });
    const p = s.producer();
    await expect(p.send('small', { value: Buffer.alloc(5000) })).rejects.toThrow(MessageTooLargeError);
    const ok = await p.send('small', Array.from({ length: 50 }, () => ({ value: Buffer.alloc(100) })));
    expect(ok.map((m) => m.offset)).toEqual([...Array(50).keys()]);
  });

  it('fills batches up to batchSize in reused buffers and delivers every record intact', async () => {
    // fsync durability with acks=all: appends wait behind each other's fsync, so batches are
    // filled while earlier ones still wait to be written.
    const s = await openSluice({ workerThreads: 0, durability: 'fsync' });
    await s.createTopic('one', { partitions: 1 });
    await s.createTopic('four', { partitions: 4 });
    const p = s.producer({ batchSize: 4096, acks: 'all' });
    const value = (i: number) => `record ${i} `.repeat(1 + (i % 13));
    // Many small batches from several senders in a loop: buffers go back and are refilled
    // while other batches are still on their way to the log.
    const meta: RecordMetadata[] = [];
    let next = 0;
    const sender = async () => {
      while (next < 3000) {
        const first = next;
        next += 100;
        const sent = await p.send('one', Array.from({ length: 100 }, (_, j) => ({ value: value(first + j) })));
        sent.forEach((m, j) => (meta[first + j] = m));
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    expect(meta.length).toBe(3000);
    const segments = s.describeTopic('one').partitions[0]!;
    expect(segments.logEndOffset).toBe(3000);
    // One keyless send larger than a batch moves on to another partition when a batch fills.
    const spread = await p.send('four', Array.from({ length: 2000 }, (_, i) => ({ value: value(i) })));
    expect(new Set(spread.map((m) => m.partition)).size).toBeGreaterThan(1);
    // Keyed records stay where their key puts them when a batch fills, sticky or not.
    const keyed = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 5}`, value: value(i), ...(i % 3 === 0 ? {} : { key: null }) }));
    const placed = await p.send('four', keyed);
    keyed.forEach((r, i) => {
      if (r.key !== null) expect(placed[i]!.partition).toBe(partitionForKey(Buffer.from(r.key), 4));
    });
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', maxPollRecords: 5000 });
    c.assign([{ topic: 'one', partition: 0 }]);
    const got = await drain(c, 3000);
    expect(got.length).toBe(3000);
    for (const r of got) expect(r.value).toBe(value(meta.findIndex((m) => m.offset === r.offset)));
    await c.close();
    const c4 = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', maxPollRecords: 5000 });
    c4.assign([0, 1, 2, 3].map((partition) => ({ topic: 'four', partition })));
    const all = await drain(c4, 3000);
    const byPlace = new Map(all.map((r) => [`${r.partition}:${r.offset}`, r.value]));
    spread.forEach((m, i) => expect(byPlace.get(`${m.partition}:${m.offset}`)).toBe(value(i)));
    await c4.close();
    await p.close();
  });

  it('skips control batches, also when a read holds nothing else', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const log = s.partition('t', 0);
    const marker = () => buildEndTransactionMarker({ committed: true, producerId: 1, producerEpoch: 0, coordinatorEpoch: 0 });
    log.append(buildBatch([{ value: 'a' }, { value: 'b' }]));
    log.append(marker());
    log.append(buildBatch([{ value: 'c' }]));
    log.append(marker());
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string' });
    const tp = { topic: 't', partition: 0 };
    c.assign([tp]);
    expect((await c.poll({ timeoutMs: 500 })).map((r) => [r.offset, r.value])).toEqual([[0, 'a'], [1, 'b'], [3, 'c']]);
    expect(await c.position(tp)).toBe(4);
    expect(await c.poll({ timeoutMs: 50 })).toEqual([]); // only the marker at 4 is left
    expect(await c.position(tp)).toBe(5);
    log.append(buildBatch([{ value: 'd' }]));
    expect((await c.poll({ timeoutMs: 500 })).map((r) => [r.offset, r.value])).toEqual([[5, 'd']]);
    await c.close();
  });

  it('reports a bad compressed batch when the poll reaches it, not before', async () => {
    const s = await openSluice({ workerThreads: 2 });
    await s.createTopic('t');
    const log = s.partition('t', 0);
    // Incompressible values, so the sections are big enough to go to the pool.
    const batch = () => buildBatch(Array.from({ length: 10 }, () => ({ value: randomBytes(20_000) })), { compression: 'lz4' });
    log.append(batch());
    const bad = batch();
    bad.fill(0xab, RECORDS_OFFSET + 8, RECORDS_OFFSET + 4000); // breaks the lz4 frame (and the CRC)
    log.append(bad, { validate: false });
    const c = s.consumer({ autoOffsetReset: 'earliest', maxPollRecords: 10 });
    c.assign([{ topic: 't', partition: 0 }]);
    expect((await c.poll({ timeoutMs: 500 })).map((r) => r.offset)).toEqual([...Array(10).keys()]);
    await expect(c.poll({ timeoutMs: 500 })).rejects.toThrow();
    await c.close();
  });

  it('hands out every record once, in order, in small polls over many partitions and batches', async () => {
    const s = await openSluice();
    await s.createTopic('t', { partitions: 8 });
    const p = s.producer({ batchSize: 2048 });
    for (let round = 0; round < 5; round++) {
      await p.send('t', Array.from({ length: 400 }, (_, i) => ({ partition: i % 8, value: `${round}:${i}` })));
    }
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', maxPollRecords: 7 });
    c.assign(Array.from({ length: 8 }, (_, partition) => ({ topic: 't', partition })));
    const got: ConsumerRecord[] = [];
    for (let i = 0; i < 1000 && got.length < 2000; i++) {
      const polled = await c.poll({ timeoutMs: 200 });
      expect(polled.length).toBeLessThanOrEqual(7);
      got.push(...polled);
    }
    expect(got.length).toBe(2000);
    for (let partition = 0; partition < 8; partition++) {
      const mine = got.filter((r) => r.partition === partition);
      expect(mine.map((r) => r.offset)).toEqual([...Array(250).keys()]);
    }
    // A seek into the middle of a batch starts at that record.
    c.seek({ topic: 't', partition: 3 }, 101);
    c.pause([0, 1, 2, 4, 5, 6, 7].map((partition) => ({ topic: 't', partition })));
    expect((await c.poll({ maxRecords: 2 })).map((r) => r.offset)).toEqual([101, 102]);
    await c.close();
  });

  it('fails a send with a bad record before any of it is written', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const p = s.producer();
    await expect(p.send('t', [{ value: 'fine' }, { key: 5 as never, value: 'bad key' }])).rejects.toThrow(/record key must be/);
    await expect(p.send('t', [{ value: 'fine' }, { value: 'bad time', timestamp: 1.5 }])).rejects.toThrow(/timestamp must be an integer/);
    await p.flush();
    expect(s.describeTopic('t').partitions[0]!.logEndOffset).toBe(0);
    expect(p.bufferedBytes).toBe(0);
    expect((await p.send('t', { value: 'after' }))[0]!.offset).toBe(0);
  });

  it('bounds a poll by bytes and the producer by buffer memory', async () => {
    const s = await openSluice();
    await s.createTopic('t');
    const p = s.producer({ bufferMemory: 10_000 });
    const sends = [];
    let peak = 0;
    for (let i = 0; i < 100; i++) {
      sends.push(p.send('t', { value: Buffer.alloc(1000, i) }));
      peak = Math.max(peak, p.bufferedBytes);
    }
    expect(peak).toBeLessThanOrEqual(10_000);
    const meta = (await Promise.all(sends)).flat();
    expect(meta.map((m) => m.offset)).toEqual([...Array(100).keys()]); // waiting sends keep their order
    expect(p.bufferedBytes).toBe(0);
    const c = s.consumer({ autoOffsetReset: 'earliest' });
    c.assign([{ topic: 't', partition: 0 }]);
    const first = await c.poll({ maxBytes: 3500 });
    expect(first.length).toBe(4); // stops once 3500 bytes are reached: 4 x 1000
    expect(first.every((r) => r.size === 1000)).toBe(true);
    expect((await c.poll({ maxBytes: 1 })).length).toBe(1); // always at least one record
  });

  it('stamps LogAppendTime topics with the broker clock', async () => {
    const s = await openSluice();
    await s.createTopic('t', { config: { 'message.timestamp.type': 'LogAppendTime' } });
    const before = Date.now();
    const [m] = await s.producer().send('t', { value: 'x', timestamp: 5 });
    expect(m!.timestamp).toBeGreaterThanOrEqual(before);
    const c = s.consumer({ autoOffsetReset: 'earliest' });
    c.assign([{ topic: 't', partition: 0 }]);
    const [r] = await drain(c, 1);
    expect(r!.timestamp).toBe(m!.timestamp);
  });

  it('keeps order and dense offsets per partition under many concurrent producers', async () => {
    const s = await openSluice({ workerThreads: 2 });
    await s.createTopic('h', { partitions: 16 });
    const producers = Array.from({ length: 8 }, () => s.producer({ compression: 'lz4', lingerMs: 1 }));
    const perPartition = 16;
    await Promise.all(
      producers.map(async (p, id) => {
        for (let seq = 0; seq < 60; seq++) {
          const batch = Array.from({ length: perPartition }, (_, partition) => ({ partition, value: `${id}:${seq}`, key: null }));
          await (seq % 3 === 0 ? p.send('h', batch) : Promise.all(batch.map((r) => p.send('h', r))));
        }
      }),
    );
    const c = s.consumer({ autoOffsetReset: 'earliest', valueDeserializer: 'string', maxPollRecords: 5000 });
    c.assign(Array.from({ length: 16 }, (_, partition) => ({ topic: 'h', partition })));
    const got = await drain(c, 16 * 8 * 60);
    expect(got.length).toBe(16 * 8 * 60);
    for (let partition = 0; partition < 16; partition++) {
      const mine = got.filter((r) => r.partition === partition);
      expect(mine.map((r) => r.offset)).toEqual([...Array(8 * 60).keys()]);
      for (let id = 0; id < 8; id++) {
        const seqs = mine.filter((r) => (r.value as string).startsWith(`${id}:`)).map((r) => Number((r.value as string).split(':')[1]));
        expect(seqs).toEqual([...Array(60).keys()]);
      }
    }
  });
});
