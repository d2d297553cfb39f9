/**
 * The embedded API as a Node developer meets it: README's example run verbatim, Sluice.open
 * defaults and path errors, createTopic's ifNotExists, the public types (deserializer-typed
 * consumers, no internals) and the layering between the facade and its clients.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { DataDirError, Sluice, TopicExistsError } from '../src/index.js';
import { tmpDir } from './helpers/tmp.js';

const root = path.resolve(import.meta.dirname, '..');
const example = path.join(root, 'examples', 'embedded.mjs');

function runNode(file: string, cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("README's embedded example", () => {
  it('is examples/embedded.mjs, word for word', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('```js\n' + fs.readFileSync(example, 'utf8') + '```');
  });

  it('prints the record it produced and exits 0 by itself, twice in a row', () => {
    const cwd = tmpDir();
    for (let run = 0; run < 2; run++) {
      const r = runNode(example, cwd);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const sent = /sent to partition (\d+) at offset (\d+)/.exec(r.stdout);
      expect(sent, r.stdout).not.toBeNull();
      expect(Number(sent![2])).toBe(run); // the key always lands on the same partition
      expect(r.stdout).toMatch(new RegExp(`read user-1 \\{"clicked":"buy","at":\\d+\\} from partition ${sent![1]} at offset ${sent![2]}\\n$`));
    }
    expect(fs.existsSync(path.join(cwd, 'data', 'events-0'))).toBe(true);
  });
});

describe('Sluice.open', () => {
  it('uses ./data when given no options', () => {
    const cwd = tmpDir();
    const script = path.join(cwd, 'open.mjs');
    fs.writeFileSync(
      script,
      `import { Sluice } from ${JSON.stringify(path.join(root, 'dist/src/index.js'))};\n` +
        `const s = await Sluice.open();\nconsole.log(s.dir);\nawait s.close();\n`,
    );
    const r = runNode(script, cwd);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(path.join(fs.realpathSync(cwd), 'data'));
    expect(fs.existsSync(path.join(cwd, 'data', 'meta.properties'))).toBe(true);
  });

  it('names the path and the fix when the path cannot be a data directory', async () => {
    const base = tmpDir();
    const file = path.join(base, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(Sluice.open({ dir: file })).rejects.toThrow(DataDirError);
    await expect(Sluice.open({ dir: file })).rejects.toThrow(`cannot use ${file} as the data directory: it is a file, not a directory`);
    await expect(Sluice.open({ dir: path.join(file, 'below') })).rejects.toThrow('a part of its path is a file');
    expect(fs.readFileSync(file, 'utf8')).toBe('x'); // nothing touched
    await expect(Sluice.open({ dir: '' })).rejects.toThrow("'dir' must be the path of a data directory, not an empty string");
    await expect(Sluice.open({ dir: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(Sluice.open(null as unknown as object)).rejects.toThrow('takes an options object');
  });

  // root writes anywhere, so this one runs only as another user.
  it.skipIf(process.getuid?.() === 0)('refuses a directory it cannot write, naming it', async () => {
    const ro = tmpDir();
    fs.chmodSync(ro, 0o500);
    await expect(Sluice.open({ dir: path.join(ro, 'data') })).rejects.toThrow(`cannot use ${path.join(ro, 'data')} as the data directory: permission denied`);
  });
});

describe('createTopic', () => {
  it('with ifNotExists returns the existing topic untouched', async () => {
    const s = await Sluice.open({ dir: tmpDir(), workerThreads: 0 });
    try {
      await s.createTopic('t', { partitions: 2, config: { 'retention.ms': 1000 } });
      await expect(s.createTopic('t')).rejects.toThrow(TopicExistsError);
      const again = await s.createTopic('t', { partitions: 5, ifNotExists: true });
      expect(again!.partitions.length).toBe(2);
      expect(again!.overrides).toEqual({ 'retention.ms': '1000' });
    } finally {
      await s.close();
    }
  });
});

describe('a consumer keeps the process alive', () => {
  it('while a poll waits, and lets it go after close()', () => {
    const cwd = tmpDir();
    const script = path.join(cwd, 'wait.mjs');
    // Nothing but the consumer's pending poll is left for Node to wait on when the unref'd
    // timer fires: without the consumer's hold, Node exits 13 ("unsettled top-level await").
    fs.writeFileSync(
      script,
      `import { Sluice } from ${JSON.stringify(path.join(root, 'dist/src/index.js'))};\n` +
        `const s = await Sluice.open({ dir: 'd', workerThreads: 0 });\n` +
        `await s.createTopic('t');\n` +
        `const c = s.consumer({ groupId: 'g', autoOffsetReset: 'earliest', valueDeserializer: 'string' });\n` +
        `c.subscribe(['t']);\n` +
        `setTimeout(() => s.producer().send('t', [{ value: 'late' }]), 300).unref();\n` +
        `const [r] = await c.poll({ timeoutMs: 30_000 });\n` +
        `console.log(r.value);\n` +
        `const pending = c.poll({ timeoutMs: 30_000 });\n` +
        `setTimeout(() => c.close(), 100).unref();\n` +
        `console.log((await pending).length);\n` +
        `await s.close();\n`,
    );
    const r = runNode(script, cwd);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('late\n0\n');
  });
});

describe('public types', () => {
  it('type consumers by their deserializers and leave internals out', () => {
    const file = path.join(root, 'test', 'types', 'public-api.ts');
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });

  it('the facade and the clients do not import each other', () => {
    const clients = fs.readdirSync(path.join(root, 'src', 'client')).filter((f) => f.endsWith('.ts'));
    for (const f of clients) {
      const text = fs.readFileSync(path.join(root, 'src', 'client', f), 'utf8');
      expect(text, `src/client/${f}`).not.toMatch(/from '\.\.\/broker\/sluice\.js'/);
      expect(text, `src/client/${f}`).not.toMatch(/from '\.\.\/index\.js'/);
    }
  });
});
