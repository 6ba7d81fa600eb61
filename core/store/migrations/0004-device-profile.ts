import type Database from 'better-sqlite3';

/**
 * The per-operator profile of a device run (PROFILE on the board): one row per operator in
 * execution order, and on the device run the whole-inference figures the operators are
 * held against. A device run without a profile has no rows and NULL columns.
 */
export function up(db: Database.Database): void {
  db.exec(`
    ALTER TABLE device_runs ADD COLUMN profile_runs INTEGER;
    ALTER TABLE device_runs ADD COLUMN profile_invoke_cycles INTEGER;
    ALTER TABLE device_runs ADD COLUMN profile_invoke_us REAL;
    ALTER TABLE device_runs ADD COLUMN profile_cycles INTEGER;

    CREATE TABLE device_run_ops (
      device_run_id  INTEGER NOT NULL REFERENCES device_runs(id) ON DELETE CASCADE,
      position       INTEGER NOT NULL,
      op             TEXT NOT NULL,
      output         TEXT NOT NULL DEFAULT '',
      cycles         INTEGER NOT NULL,
      us             REAL NOT NULL,
      macs           INTEGER NOT NULL DEFAULT 0,
      output_offset  INTEGER,
      output_bytes   INTEGER NOT NULL,
      PRIMARY KEY (device_run_id, position)
    ) WITHOUT ROWID;
  `);
}
