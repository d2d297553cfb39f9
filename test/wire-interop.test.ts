import { beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { python, requireTool, run } from './helpers/clients.js';
import { startBroker } from './helpers/broker.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
beforeAll(() => requireTool('kcat', 'apt-get install kcat'));

const READ_PY = `
import json, sys
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], auto_offset_reset='earliest', consumer_timeout_ms=5000)
print(json.dumps([[m.offset, (m.key or b'').decode(), m.value.decode(), {k: v.decode() for k, v in (m.headers or [])}] for m in c]))
`;

const WRITE_PY = `
import sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'compression.type': 'lz4'})
for i in range(50): p.produce(sys.argv[2], key=f'py{i}', value=f'from python {i}', headers=[('src', b'python')])
p.flush(20)
print('[]')
`;

describe('records written by one client are read by the others', () => {
  it('kafkajs -> kcat and kafka-python; kcat -> kafkajs; confluent-kafka-python -> kcat', async () => {
    const broker = await startBroker();
    const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'from-js', messages: Array.from({ length: 50 }, (_, i) => ({ key: `js${i}`, value: `from kafkajs ${i}`, headers: { src: 'kafkajs' } })) });
    await producer.disconnect();

    const viaKcat = await run('kcat', ['-b', broker.bootstrap, '-t', 'from-js', '-C', '-o', 'beginning', '-e', '-q', '-f', '%o %k %s %h\n']);
    expect(viaKcat.trim().split('\n')).toEqual(Array.from({ length: 50 }, (_, i) => `${i} js${i} from kafkajs ${i} src=kafkajs`));
    const viaPython = await python<[number, string, string, Record<string, string>][]>(READ_PY, [broker.bootstrap, 'from-js']);
    expect(viaPython).toEqual(Array.from({ length: 50 }, (_, i) => [i, `js${i}`, `from kafkajs ${i}`, { src: 'kafkajs' }]));

    await run('kcat', ['-b', broker.bootstrap, '-t', 'from-kcat', '-P', '-K:', '-z', 'gzip', '-H', 'src=kcat'], Array.from({ length: 50 }, (_, i) => `kc${i}:from kcat ${i}`).join('\n') + '\n');
    const consumer = kafka.consumer({ groupId: 'interop' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'from-kcat', fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(`${message.offset} ${message.key} ${message.value} ${message.headers!.src}`);
          if (got.length === 50) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `${i} kc${i} from kcat ${i} kcat`));

    await python(WRITE_PY, [broker.bootstrap, 'from-py']);
    const fromPy = await run('kcat', ['-b', broker.bootstrap, '-t', 'from-py', '-C', '-o', 'beginning', '-e', '-q', '-f', '%k %s %h\n']);
    expect(fromPy.trim().split('\n')).toEqual(Array.from({ length: 50 }, (_, i) => `py${i} from python ${i} src=python`));
  });
});
