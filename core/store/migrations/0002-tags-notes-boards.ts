import type Database from 'better-sqlite3';

/** Tags and notes on runs; boards and the device runs measured on them. */
export function up(db: Database.Database): void {
  db.exec(`
    ALTER TABLE runs ADD COLUMN notes TEXT;

    CREATE TABLE run_tags (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      tag    TEXT NOT NULL,
      PRIMARY KEY (run_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX run_tags_tag ON run_tags(tag, run_id);

    -- A board is identified by everything it reports plus where it was reached.
    CREATE TABLE boards (
      id               INTEGER PRIMARY KEY,
      name             TEXT NOT NULL,
      firmware_version TEXT NOT NULL,
      port             TEXT NOT NULL,
      cpu              TEXT NOT NULL DEFAULT '',
      clock_hz         INTEGER NOT NULL DEFAULT 0,
      details          TEXT NOT NULL DEFAULT 'null',
      created_at       TEXT NOT NULL,
      UNIQUE (name, firmware_version, port, cpu, clock_hz)
    );

    CREATE TABLE device_runs (
      id                      INTEGER PRIMARY KEY,
      uuid                    TEXT NOT NULL UNIQUE,
      run_id                  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      board_id                INTEGER NOT NULL REFERENCES boards(id),
      status                  TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'cancelled')),
      error                   TEXT,
      latency_min_us          REAL,
      latency_median_us       REAL,
      latency_p95_us          REAL,
      latency_max_us          REAL,
      cycles_min              INTEGER,
      cycles_median           INTEGER,
      cycles_p95              INTEGER,
      cycles_max              INTEGER,
      accuracy                REAL,
      agreement               REAL,
      arena_bytes             INTEGER,
      model_bytes             INTEGER,
      upload_seconds          REAL,
      upload_bytes_per_second REAL,
      metrics                 TEXT NOT NULL DEFAULT 'null',
      created_at              TEXT NOT NULL
    );
    CREATE INDEX device_runs_run ON device_runs(run_id);
    CREATE INDEX device_runs_board_latency ON device_runs(board_id, latency_median_us);
  `);
}
