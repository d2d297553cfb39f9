import { Sluice } from 'sluice';

const sluice = await Sluice.open({ dir: './data' });
await sluice.createTopic('orders', { ifNotExists: true });
await sluice.createTopic('invoices', { ifNotExists: true });
await sluice.producer().send('orders', [{ value: 'order-1' }, { value: 'order-2' }]);

// Read orders in group 'billing'; write invoices and the group's offsets in one transaction.
const consumer = sluice.consumer({ groupId: 'billing', enableAutoCommit: false, autoOffsetReset: 'earliest', valueDeserializer: 'string' });
consumer.subscribe(['orders']);
const producer = sluice.producer({ transactionalId: 'billing-1' });
let orders = [];
while (orders.length === 0) orders = await consumer.poll({ timeoutMs: 1000 }); // waits for the assignment
await producer.beginTransaction();
await producer.send('invoices', orders.map((o) => ({ value: `invoice for ${o.value}` })));
const next = orders.at(-1).offset + 1;
await producer.sendOffsetsToTransaction([{ topic: 'orders', partition: 0, offset: next }], 'billing');
await producer.commitTransaction();                          // invoices and offsets, or neither
console.log(`invoiced ${orders.map((o) => o.value).join(', ')}; billing goes on from offset ${next}`);
await sluice.close();
