// Compiled (not run) by test/embedded-api.test.ts against the published declarations in
// dist/: what a TypeScript user of `import { Sluice } from 'sluice'` may and may not write.
// Every @ts-expect-error must be needed, and nothing else may fail to compile.
import { Sluice } from '../../dist/src/index.js';

export async function usage(): Promise<void> {
  const sluice = await Sluice.open();
  await sluice.createTopic('events', { ifNotExists: true });

  const strings = sluice.consumer({ keyDeserializer: 'string', valueDeserializer: 'string' });
  const [s] = await strings.poll();
  const key: string | null | undefined = s?.key;
  const value: string | null | undefined = s?.value;
  // @ts-expect-error a string value is not a number
  const notNumber: number | null | undefined = s?.value;

  const raw = sluice.consumer();
  const [r] = await raw.poll();
  const bytes: Buffer | null | undefined = r?.value;
  // @ts-expect-error the default deserializer gives Buffers, not strings
  const notString: string | null | undefined = r?.key;

  const typed = sluice.consumer({ valueDeserializer: (b: Buffer) => ({ length: b.length }) });
  for await (const t of typed) {
    const length: number | undefined = t.value?.length;
    // @ts-expect-error the function's result has no 'name'
    void t.value?.name;
    void length;
    break;
  }

  // Internals are not part of the public types.
  // @ts-expect-error
  void sluice.pool;
  // @ts-expect-error
  void sluice.groups;
  // @ts-expect-error
  void sluice.traffic;
  // @ts-expect-error
  sluice.partition('events', 0);
  // @ts-expect-error
  await sluice.runCompaction();
  void [key, value, notNumber, bytes, notString];
  await sluice.close();
}
