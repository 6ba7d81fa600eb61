import type Database from 'better-sqlite3';

/**
 * Which process is recording a running run (`host:pid`), so a run whose process was killed
 * can be marked failed instead of showing as running forever.
 */
export function up(db: Database.Database): void {
  db.exec(`
    ALTER TABLE runs ADD COLUMN owner TEXT;
    CREATE INDEX runs_running_owner ON runs(owner) WHERE status = 'running';
  `);
}
