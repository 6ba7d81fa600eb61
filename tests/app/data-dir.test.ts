import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveDataDir } from '../../core/app/data-dir';

describe('resolveDataDir', () => {
  it('prefers --data-dir over the environment', () => {
    assert.equal(resolveDataDir({ flag: '/tmp/a', env: { QUANTBENCH_DATA_DIR: '/tmp/b' } }), '/tmp/a');
  });
  it('uses QUANTBENCH_DATA_DIR before the platform default', () => {
    assert.equal(resolveDataDir({ env: { QUANTBENCH_DATA_DIR: '/tmp/b', XDG_DATA_HOME: '/x' } }), '/tmp/b');
  });
  it('follows XDG_DATA_HOME on Linux and ignores a relative one', () => {
    assert.equal(resolveDataDir({ env: { XDG_DATA_HOME: '/x/data' }, platform: 'linux', home: '/home/u' }), '/x/data/quantbench');
    assert.equal(resolveDataDir({ env: { XDG_DATA_HOME: 'rel' }, platform: 'linux', home: '/home/u' }), '/home/u/.local/share/quantbench');
  });
  it('uses the platform directories on macOS and Windows', () => {
    assert.equal(resolveDataDir({ env: {}, platform: 'darwin', home: '/Users/u' }), '/Users/u/Library/Application Support/Quantbench');
    assert.match(resolveDataDir({ env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, platform: 'win32', home: 'C:\\Users\\u' }), /Quantbench$/);
  });
});
