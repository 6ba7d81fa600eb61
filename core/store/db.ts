import Database from 'better-sqlite3';
import { StoreError } from './errors';
import { latestSchemaVersion, migrations } from './migrations/index';

export type Db = Database.Database;

/** The database file inside the data directory. */
export const DB_FILE_NAME = 'quantbench.sqlite';

export interface OpenDatabaseOptions {
  readonly?: boolean;
  /** Stop migrating at this version (tests build old schemas with it). */
  targetVersion?: number;
}

/**
 * Opens (creating if needed) a Quantbench database and brings its schema up to date.
 *
 * synchronous=FULL: in WAL mode NORMAL survives a killed process but may lose the last
 * commits on power loss or a kernel crash; FULL syncs the WAL at every commit, so a run
 * reported as recorded stays recorded. Commits are one per run, so the cost is small.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(file, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
  } catch (cause) {
    throw new StoreError(
      'STORE_OPEN_FAILED',
      `Cannot open the experiment database ${file}: ${(cause as Error).message}`,
      {
        hint: 'Check that the data directory exists and is writable, or pass another one with --data-dir',
        cause,
      },
    );
  }
  try {
    // Set first: switching to WAL and migrating both take locks another process may hold.
    db.pragma('busy_timeout = 15000');
    checkNotCorrupt(db, file);
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    if (!options.readonly) migrate(db, options.targetVersion ?? latestSchemaVersion);
    else assertKnownVersion(db, file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function checkNotCorrupt(db: Db, file: string): void {
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (cause) {
    throw new StoreError(
      'STORE_NOT_A_DATABASE',
      `${file} is not a readable SQLite database: ${(cause as Error).message}`,
      {
        hint: 'Move the file aside; Quantbench creates a fresh database in its place',
        cause,
      },
    );
  }
}

export function schemaVersionOf(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function assertKnownVersion(db: Db, file: string): void {
  const version = schemaVersionOf(db);
  if (version > latestSchemaVersion) {
    throw new StoreError(
      'STORE_SCHEMA_TOO_NEW',
      `${file} has schema version ${version}; this Quantbench knows versions up to ${latestSchemaVersion}`,
      { hint: 'Update Quantbench, or use another data directory with --data-dir' },
    );
  }
}

/**
 * Applies pending migrations, each in its own IMMEDIATE transaction that re-reads the
 * version, so two processes opening an old database at once migrate it exactly once.
 */
export function migrate(db: Db, target: number = latestSchemaVersion): void {
  assertKnownVersion(db, db.name);
  for (const migration of migrations) {
    if (migration.version > target) break;
    if (schemaVersionOf(db) >= migration.version) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      const current = schemaVersionOf(db);
      if (current === migration.version - 1) {
        migration.up(db);
        db.pragma(`user_version = ${migration.version}`);
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw new StoreError(
        'STORE_MIGRATION_FAILED',
        `Upgrading ${db.name} to schema ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
        {
          hint: 'The database was left at its previous version; report this with the file attached',
          cause: error,
        },
      );
    }
  }
}
