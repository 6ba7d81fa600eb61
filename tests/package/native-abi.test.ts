import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
// @ts-expect-error: a plain ES module script without types
import { abiMismatches, addonAbi, electronAbi } from '../../scripts/package/native-abi.mjs';
import { tempDir } from '../helpers/tmp';

const require = createRequire(import.meta.url);
const sqliteAddon = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');

describe('the package ABI check', () => {
  it('reads the module version better-sqlite3 was built for, the one of the Node that loads it here', () => {
    assert.equal(addonAbi(readFileSync(sqliteAddon)), process.versions.modules);
  });

  it('knows Electron 45 needs NODE_MODULE_VERSION 150', () => {
    assert.equal(electronAbi('45.5.0'), '150');
  });

  it('flags an addon built for another runtime and accepts Node-API addons', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'a'));
    copyFileSync(sqliteAddon, path.join(dir, 'a', 'better_sqlite3.node'));
    const problems = abiMismatches(dir, '150') as string[];
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, new RegExp(`better_sqlite3.node is built for NODE_MODULE_VERSION ${process.versions.modules}, the runtime needs 150`));
    assert.deepEqual(abiMismatches(dir, process.versions.modules), []);
    assert.equal(addonAbi(Buffer.from('\0napi_register_module_v1\0')), 'napi');
    assert.equal(addonAbi(Buffer.from('not an addon')), null);
  });
});
