// One consumer-group member for bench/groups.ts, as its own Node process: a kafkajs 2.2.4
// consumer, the client Node users run. Talks to its parent in JSON lines on stdout (pipes are
// written synchronously on Linux, so a line is out before the next statement runs).
//
//   node bench/group-member.mjs member  --broker H:P --topic T --group G
//   node bench/group-member.mjs count   --broker H:P --topic T --group G
//   node bench/group-member.mjs produce --broker H:P --topic T --records N
//
// member   joins G and idles on the (empty or drained) topic with short client timers
//          (heartbeatInterval 100, maxWaitTimeInMs 100, sessionTimeout 6000). Prints
//          {"event":"request"} for every JoinGroup, SyncGroup and LeaveGroup it sends (kafkajs'
//          REQUEST instrumentation: `sentAt` is the client's Date.now() when the request went
//          out) and {"event":"join"} on every GROUP_JOIN (it has its assignment).
// count    connects, prints {"event":"ready"}, waits for the line "go" on stdin, then joins G
//          reading from the beginning with eachBatch; prints {"event":"progress"} every 50 ms
//          while the count moves and, on SIGTERM, {"event":"done"} with its count, bytes and the
//          times of its first and last record.
// produce  fallback loader when librdkafka is missing: N 100-byte records, acks 1, no codec,
//          batches of 5000 with 4 sends in flight, round robin over the partitions.
//
// SLUICE_BENCH_HEARTBEAT_MS and SLUICE_BENCH_MAX_WAIT_MS override the two client timers (to
// see which share of a rebalance is the client's waiting).
//
// Times (`at`, `first`, `last`) are epoch milliseconds with sub-millisecond precision
// (performance.timeOrigin + performance.now()), comparable with the parent's. SIGTERM or the
// parent closing stdin ends the process cleanly: consumer.disconnect() (LeaveGroup), exit 0.
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    broker: { type: 'string' },
    topic: { type: 'string' },
    group: { type: 'string' },
    records: { type: 'string' },
  },
});
const mode = positionals[0];
const { broker, topic, group } = values;
if (!broker || !topic || !['member', 'count', 'produce'].includes(mode)) {
  process.stderr.write('usage: group-member.mjs member|count|produce --broker H:P --topic T [--group G] [--records N]\n');
  process.exit(2);
}

const epochNow = () => performance.timeOrigin + performance.now();
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const kafka = new Kafka({
  clientId: `bench-${mode}-${process.pid}`,
  brokers: [broker],
  logLevel: logLevel.ERROR,
  retry: { initialRetryTime: 50, retries: 10 },
});

if (mode === 'produce') {
  const total = Number(values.records ?? 0);
  const BATCH = 5000;
  const IN_FLIGHT = 4;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const { partitions } = (await kafka.admin().fetchTopicMetadata({ topics: [topic] })).topics[0];
  const values100 = Array.from({ length: 64 }, (_, i) => Buffer.from(`{"seq":${i},"msg":"${'x'.repeat(100)}`.slice(0, 100)));
  let next = 0;
  const sendOne = async () => {
    while (next < total) {
      const start = next;
      const n = Math.min(BATCH, total - start);
      next += n;
      const partition = partitions[(start / BATCH) % partitions.length].partitionId;
      const messages = new Array(n);
      for (let i = 0; i < n; i++) messages[i] = { value: values100[(start + i) & 63], partition };
      await producer.send({ topic, acks: 1, messages });
    }
  };
  const t0 = epochNow();
  await Promise.all(Array.from({ length: IN_FLIGHT }, sendOne));
  emit({ event: 'produced', records: total, ms: epochNow() - t0 });
  await producer.disconnect();
  process.exit(0);
}

const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: 6000,
  rebalanceTimeout: 10000,
  heartbeatInterval: Number(process.env.SLUICE_BENCH_HEARTBEAT_MS ?? 100),
  maxWaitTimeInMs: Number(process.env.SLUICE_BENCH_MAX_WAIT_MS ?? 100),
  allowAutoTopicCreation: false,
});

let stopping = false;
let done = () => {};
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  done();
  try {
    await consumer.disconnect();
  } catch (err) {
    process.stderr.write(`disconnect failed: ${err}\n`);
    code = 1;
  }
  emit({ event: 'exit', at: epochNow() });
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0)); // the parent went away
process.stdin.resume();

const { GROUP_JOIN, REQUEST, CRASH } = consumer.events;
consumer.on(GROUP_JOIN, (e) => {
  const partitions = Object.values(e.payload.memberAssignment).reduce((n, ps) => n + ps.length, 0);
  emit({ event: 'join', at: epochNow(), memberId: e.payload.memberId, leader: e.payload.isLeader, partitions, ms: e.payload.duration });
});
consumer.on(REQUEST, (e) => {
  const api = e.payload.apiName;
  if (api === 'JoinGroup' || api === 'SyncGroup' || api === 'LeaveGroup') emit({ event: 'request', api, sentAt: e.payload.sentAt, ms: e.payload.duration });
});
consumer.on(CRASH, (e) => {
  process.stderr.write(`consumer crashed: ${e.payload.error}\n`);
  if (!e.payload.restart) void shutdown(1);
});

await consumer.connect();

if (mode === 'member') {
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({ eachBatch: async () => {} });
} else {
  emit({ event: 'ready', at: epochNow() });
  await new Promise((resolve) => {
    let buf = '';
    process.stdin.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('go\n')) resolve();
    });
    done = resolve;
  });
  if (stopping) await new Promise(() => {}); // shutdown() exits
  let count = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let reported = 0;
  const report = () => {
    if (count !== reported) emit({ event: 'progress', count });
    reported = count;
  };
  const timer = setInterval(report, 50);
  done = () => {
    clearInterval(timer);
    emit({ event: 'done', count, bytes, first, last });
  };
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const messages = batch.messages;
      if (messages.length === 0) return;
      if (count === 0) first = epochNow();
      for (let i = 0; i < messages.length; i++) bytes += messages[i].value.length;
      count += messages.length;
      last = epochNow();
    },
  });
}
