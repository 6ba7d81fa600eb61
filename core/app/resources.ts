import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where Quantbench's own files are, for the three ways it runs:
 *
 * - `source`: TypeScript under tsx in a checkout (tests, `npm run` scripts);
 * - `bundle`: the esbuild output in dist/app, in a checkout or an installed npm package
 *   (the `quantbench` CLI, `npm start`);
 * - `packaged`: the same bundle inside an Electron package, where the code sits in
 *   `resources/app.asar` and electron-builder copies the firmware builds and the sample
 *   beside it (extraResources in electron-builder.yml).
 *
 * The layout is read from where this code itself runs, so a worker thread, which has no
 * `process.resourcesPath`, finds the same files as the main process that started it.
 */
export type Layout = 'source' | 'bundle' | 'packaged';

export interface ResourceLocations {
  layout: Layout;
  /** Holds package.json and dist/ (a checkout, an installed package, or app.asar). */
  appRoot: string;
  /** The esbuild output (main.cjs, cli.mjs, worker.mjs, job-*.mjs); null when running from source. */
  bundleDir: string | null;
  /** build/firmware in a checkout, resources/firmware in a package. */
  firmwareDir: string;
  /** The sample model and its data. */
  samplesDir: string;
  /** resources/firmware sources and Makefile, when this installation has them. */
  firmwareSourceDir: string | null;
}

/** The folder holding the code that is running, and whether that code is the TypeScript source. */
function codeLocation(): { dir: string; source: boolean } {
  const file = fileURLToPath(import.meta.url);
  return { dir: path.dirname(file), source: file.endsWith('.ts') };
}

/**
 * `resources/` of an Electron package when the code runs from its app.asar: Electron's own
 * `process.resourcesPath` in the main process, else the folder above app.asar in the code's path.
 */
function packagedResources(codeDir: string): string | null {
  const marker = `${path.sep}app.asar${path.sep}`;
  const at = `${codeDir}${path.sep}`.lastIndexOf(marker);
  if (at < 0) return null;
  const fromElectron = (process as { resourcesPath?: string }).resourcesPath;
  const fromPath = codeDir.slice(0, at);
  return fromElectron && path.resolve(fromElectron) === path.resolve(fromPath) ? fromElectron : fromPath;
}

/** Computes the locations from an explicit code folder; `locateResources()` uses the running code's. */
export function resourcesFor(code: { dir: string; source: boolean }, env: NodeJS.ProcessEnv = process.env): ResourceLocations {
  // Source: core/app/resources.ts. Bundle: dist/app/<bundle>. Both are two folders below the root.
  const appRoot = path.resolve(code.dir, '..', '..');
  const resources = code.source ? null : packagedResources(code.dir);
  const layout: Layout = code.source ? 'source' : resources ? 'packaged' : 'bundle';
  const firmwareSource = path.join(appRoot, 'resources', 'firmware');
  return {
    layout,
    appRoot,
    bundleDir: code.source ? null : code.dir,
    firmwareDir: path.resolve(env.QUANTBENCH_FIRMWARE_BUILD || (resources ? path.join(resources, 'firmware') : path.join(appRoot, 'build', 'firmware'))),
    samplesDir: resources ? path.join(resources, 'samples') : path.join(appRoot, 'resources', 'samples'),
    firmwareSourceDir: !resources && existsSync(path.join(firmwareSource, 'Makefile')) ? firmwareSource : null,
  };
}

let cached: ResourceLocations | undefined;

export function locateResources(): ResourceLocations {
  cached ??= resourcesFor(codeLocation());
  return cached;
}
