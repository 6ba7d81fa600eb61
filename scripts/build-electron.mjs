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
  // import.meta has no meaning in CommonJS: url points at the bundle, resolve at require.resolve.
  define: { 'import.meta.url': 'importMetaUrl', 'import.meta.resolve': 'importMetaResolve' },
  banner: {
    js: [
      "const importMetaUrl = require('url').pathToFileURL(__filename).href;",
      "const importMetaResolve = (id) => require('url').pathToFileURL(require.resolve(id)).href;",
    ].join('\n'),
  },
});
// A sandboxed preload can require only 'electron': everything else is inlined.
await build({
  ...common,
  entryPoints: [path.join(root, 'electron/preload.ts')],
  outfile: path.join(root, 'dist/electron/preload.cjs'),
  external: ['electron'],
});
