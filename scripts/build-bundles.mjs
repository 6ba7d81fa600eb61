#!/usr/bin/env node
// One esbuild build for everything that runs outside the repository's TypeScript, into
// dist/app (one flat folder, so a bundle finds its siblings beside itself):
//   main.cjs, preload.cjs  the Electron main process and the sandboxed preload (CommonJS)
//   cli.mjs                the `quantbench` CLI (bin/quantbench.mjs loads it)
//   worker.mjs, job-*.mjs  the job worker and every job module of core/jobs/registry.ts
// The ES module entries share chunks. Dependencies stay external (node_modules ships with
// the package) except those a CommonJS bundle cannot require. No TypeScript, no tsx at run time.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const finalDir = path.join(root, 'dist', 'app');
// Built beside the old bundle and swapped in at the end: a CLI started meanwhile (tests run in
// parallel) sees the old bundle or none, never half of a new one.
const outdir = path.join(root, 'dist', `app.building-${process.pid}`);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const { JOB_SOURCES, bundledJobFile } = await tsImport('../core/jobs/registry.ts', import.meta.url);

const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning', metafile: true, absWorkingDir: root };

// ES module packages that export some subpaths to `import` only: a CommonJS bundle inlines them.
const inlineInCommonJs = new Set(['h5wasm']);
const dependencies = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
const cjsExternal = ['electron', ...dependencies.filter((d) => !inlineInCommonJs.has(d)).flatMap((d) => [d, `${d}/*`])];

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const jobEntries = Object.fromEntries(
  Object.entries(JOB_SOURCES).map(([name, job]) => [bundledJobFile(name).replace(/\.mjs$/, ''), path.join(root, job.source)]),
);

const results = await Promise.all([
  build({
    ...common,
    entryPoints: { cli: path.join(root, 'core/cli/main.ts'), worker: path.join(root, 'core/jobs/worker.ts'), ...jobEntries },
    outdir,
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    packages: 'external',
  }),
  build({
    ...common,
    entryPoints: [path.join(root, 'electron/main.ts')],
    outfile: path.join(outdir, 'main.cjs'),
    format: 'cjs',
    external: cjsExternal,
    inject: [path.join(root, 'scripts/bundle/cjs-import-meta.js')],
    define: { 'import.meta.url': 'importMetaUrl', 'import.meta.resolve': 'importMetaResolve' },
  }),
  // A sandboxed preload can require only 'electron': everything else is inlined.
  build({
    ...common,
    entryPoints: [path.join(root, 'electron/preload.ts')],
    outfile: path.join(outdir, 'preload.cjs'),
    format: 'cjs',
    external: ['electron'],
  }),
]);

// The repository's CLI uses the bundle only while no source file it was built from has changed.
const inputs = new Set();
for (const r of results) for (const file of Object.keys(r.metafile.inputs)) if (!file.includes('node_modules/')) inputs.add(file);
writeFileSync(path.join(outdir, 'inputs.json'), `${JSON.stringify([...inputs].sort(), null, 1)}\n`);
rmSync(finalDir, { recursive: true, force: true });
renameSync(outdir, finalDir);
