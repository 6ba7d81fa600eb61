#!/usr/bin/env node
// The `quantbench` CLI. It runs the esbuild bundle (dist/app/cli.mjs, built by `npm ci`'s
// install step or `npm run build:bundles`) when that bundle is current, which starts about
// twice as fast; in a checkout whose sources changed since, it runs the TypeScript core
// through tsx instead, so an edit is never hidden behind a stale bundle.
// QUANTBENCH_FROM_SOURCE=1 forces the TypeScript core.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = path.join(root, 'dist', 'app', 'cli.mjs');

function bundleIsCurrent() {
  if (process.env.QUANTBENCH_FROM_SOURCE === '1' || !existsSync(bundle)) return false;
  // An installed package ships the bundle without the sources it came from.
  if (!existsSync(path.join(root, 'core'))) return true;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(path.join(root, 'dist', 'app', 'inputs.json'), 'utf8'));
  } catch {
    return false;
  }
  const built = statSync(bundle).mtimeMs;
  return inputs.every((file) => {
    const s = statSync(path.join(root, file), { throwIfNoEntry: false });
    return s !== undefined && s.mtimeMs <= built;
  });
}

let main;
if (bundleIsCurrent()) {
  ({ main } = await import(pathToFileURL(bundle).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../core/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
