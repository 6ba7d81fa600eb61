import { readFileSync } from 'node:fs';
import path from 'node:path';
import { locateResources } from './resources';

/** The checkout, the installed package, or app.asar: where package.json and dist/ are. */
export const projectRoot = locateResources().appRoot;

let cached: string | undefined;

/** The version in package.json, the one every face reports. */
export function appVersion(): string {
  cached ??= (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
