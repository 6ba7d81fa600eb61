// Injected into the CommonJS bundles (Electron main): import.meta means nothing there, so
// `import.meta.url` becomes the bundle's own URL and `import.meta.resolve` a resolver that,
// like the ESM one, honours packages whose exports offer a subpath to `import` only
// (h5wasm exports `./node` that way, so require.resolve refuses it).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const importMetaUrl = pathToFileURL(__filename).href;

const requireHere = createRequire(__filename);

function exportTarget(entry) {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object') {
    for (const condition of ['node', 'import', 'default']) {
      const target = exportTarget(entry[condition]);
      if (target) return target;
    }
  }
  return null;
}

function resolveImportOnly(id) {
  const parts = id.split('/');
  const name = id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const subpath = `.${id.slice(name.length)}`;
  for (const dir of requireHere.resolve.paths(id) ?? []) {
    const manifest = path.join(dir, name, 'package.json');
    if (!existsSync(manifest)) continue;
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8'));
    const target = exportTarget(exports?.[subpath]);
    if (target) return path.join(dir, name, target);
  }
  return null;
}

export function importMetaResolve(id) {
  if (id.startsWith('file:')) return id;
  try {
    return pathToFileURL(requireHere.resolve(id)).href;
  } catch (error) {
    const file = error?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' ? resolveImportOnly(id) : null;
    if (!file) throw error;
    return pathToFileURL(file).href;
  }
}
