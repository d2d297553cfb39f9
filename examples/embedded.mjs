import { Sluice } from 'sluice';

const sluice = await Sluice.open({ dir: './data' });        // locks the directory, recovers if needed
await sluice.createTopic('events', { partitions: 8, ifNotExists: true, config: { 'retention.ms': 86_400_000 } });

const producer = sluice.producer({ compression: 'lz4' });
const [sent] = await producer.send('events', [{ key: 'user-1', value: { clicked: 'buy', at: Date.now() } }]); // JS values go through msgpack
console.log(`sent to partition ${sent.partition} at offset ${sent.offset}`);

const consumer = sluice.consumer({ groupId: 'app', autoOffsetReset: 'earliest', keyDeserializer: 'string', valueDeserializer: 'msgpack' });
consumer.subscribe(['events']);
for await (const record of consumer) {                      // waits for the group's assignment, then reads
  console.log(`read ${record.key} ${JSON.stringify(record.value)} from partition ${record.partition} at offset ${record.offset}`);
  if (record.partition === sent.partition && record.offset === sent.offset) break; // the record sent above
}
await sluice.close();                                        // flushes, commits, marks the shutdown clean
