// Which Node ABI a native addon (.node) was built for, read from the binary itself: addons
// written against V8 export `node_register_module_v<NODE_MODULE_VERSION>`, Node-API addons
// `napi_register_module_v1` (ABI-stable, loadable by any runtime). The symbol names are plain
// strings in ELF, Mach-O and PE files alike.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** 'napi', a NODE_MODULE_VERSION such as '115', or null when the file declares neither. */
export function addonAbi(bytes) {
  const text = bytes.toString('latin1');
  const v8 = /node_register_module_v(\d+)/.exec(text);
  if (v8) return v8[1];
  return text.includes('napi_register_module_v1') ? 'napi' : null;
}

export function findAddons(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findAddons(p));
    else if (entry.name.endsWith('.node')) out.push(p);
  }
  return out;
}

/** NODE_MODULE_VERSION of an Electron release, from the registry electron-builder's rebuild uses. */
export function electronAbi(version) {
  const require = createRequire(import.meta.url);
  const { getAbi } = require('node-abi');
  return getAbi(version, 'electron');
}

/**
 * Checks every addon under `dir` against `expected` (a NODE_MODULE_VERSION); returns one line
 * per addon that would fail to load, empty when all match.
 */
export function abiMismatches(dir, expected) {
  const problems = [];
  for (const file of findAddons(dir)) {
    const abi = addonAbi(readFileSync(file));
    if (abi === 'napi' || abi === expected) continue;
    problems.push(
      abi === null
        ? `${path.relative(dir, file)} declares no Node module version (not a Node addon?)`
        : `${path.relative(dir, file)} is built for NODE_MODULE_VERSION ${abi}, the runtime needs ${expected}`,
    );
  }
  return problems;
}
