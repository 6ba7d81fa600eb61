#!/usr/bin/env node
// Bundles the Electron main process (with the core) and the sandboxed preload into
// dist/electron. Dependencies stay external: electron-builder ships node_modules.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true, logLevel: 'warning' };

await build({
  ...common,
  entryPoints: [path.join(root, 'electron/main.ts')],
  outfile: path.join(root, 'dist/electron/main.cjs'),
  packages: 'external',
  // import.meta.url has no meaning in CommonJS; point it at the bundle itself.
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('url').pathToFileURL(__filename).href;" },
});
// A sandboxed preload can require only 'electron': everything else is inlined.
await build({
  ...common,
  entryPoints: [path.join(root, 'electron/preload.ts')],
  outfile: path.join(root, 'dist/electron/preload.cjs'),
  external: ['electron'],
});
