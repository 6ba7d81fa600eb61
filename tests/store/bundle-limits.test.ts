import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { QuantbenchError } from '../../core/errors';
import { importFromFile } from '../../core/store/bundle';
import { openStore } from '../../core/store/store';
import { tempDir } from '../helpers/tmp';

describe('.qbx bundle import', () => {
  it('refuses a zip bomb before inflating it, naming the file', () => {
    const dir = tempDir();
    const store = openStore(path.join(dir, 'data'));
    try {
      const file = path.join(dir, 'bomb.qbx');
      const zeros = new Uint8Array(200 * 1024 * 1024);
      writeFileSync(file, zipSync({ 'export.json': new TextEncoder().encode('{}'), 'artifacts/0000': [zeros, { level: 9 }] }));
      assert.throws(
        () => importFromFile(store, file),
        (e: unknown) =>
          e instanceof QuantbenchError && e.code === 'STORE_IMPORT_INVALID' && /bomb\.qbx is not a readable zip bundle: its entries declare \d+ bytes/.test(e.message),
      );
    } finally {
      store.close();
    }
  });
});
