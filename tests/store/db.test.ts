import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DB_FILE_NAME, openStore, StoreError } from '../../core/store/index';
import { tempDir } from '../helpers/tmp';

describe('opening the store', () => {
  it('uses WAL, foreign keys, a busy timeout and synchronous=FULL', () => {
    const store = openStore(tempDir());
    try {
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
      assert.ok((store.db.pragma('busy_timeout', { simple: true }) as number) >= 5000);
      assert.equal(store.db.pragma('synchronous', { simple: true }), 2);
    } finally {
      store.close();
    }
  });

  it('creates the data directory and the database file in it', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const store = openStore(dataDir);
    assert.equal(store.dbPath, path.join(dataDir, DB_FILE_NAME));
    store.close();
  });

  it('names the file and says what to do when it is not a database', () => {
    const dataDir = tempDir();
    writeFileSync(path.join(dataDir, DB_FILE_NAME), 'this is a text file, not SQLite'.repeat(100));
    assert.throws(
      () => openStore(dataDir),
      (e: unknown) =>
        e instanceof StoreError &&
        e.code === 'STORE_NOT_A_DATABASE' &&
        e.message.includes(DB_FILE_NAME) &&
        /Move the file aside/.test(e.hint ?? ''),
    );
  });

  it('opens read-only for readers and refuses writes there', () => {
    const dataDir = tempDir();
    openStore(dataDir).close();
    const store = openStore(dataDir, { readonly: true });
    try {
      assert.equal(store.listRuns().total, 0);
      assert.throws(
        () => store.recordModel({ hash: 'h', name: 'n', format: 'h5' }),
        (e: unknown) => e instanceof StoreError && e.code === 'STORE_READONLY',
      );
    } finally {
      store.close();
    }
  });
});
