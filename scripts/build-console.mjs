// Bundles the web console (console/) into dist/src/console/ui with esbuild, so the broker
// serves it with nothing fetched at run time. Run by `npm run build` and `prepare` after tsc.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/src/console/ui');
fs.mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(root, 'console/app.ts')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
});
for (const f of ['index.html', 'app.css']) fs.copyFileSync(path.join(root, 'console', f), path.join(out, f));
console.log(`console bundled into ${path.relative(root, out)}`);
