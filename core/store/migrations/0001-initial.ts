import type Database from 'better-sqlite3';

/** Models, datasets, runs with their per-layer report, and content-addressed artifacts. */
export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE models (
      id            INTEGER PRIMARY KEY,
      hash          TEXT NOT NULL UNIQUE,
      name          TEXT NOT NULL,
      source_path   TEXT,
      format        TEXT NOT NULL,
      layer_summary TEXT NOT NULL DEFAULT 'null',
      created_at    TEXT NOT NULL
    );
    CREATE INDEX models_name ON models(name);

    CREATE TABLE datasets (
      id            INTEGER PRIMARY KEY,
      hash          TEXT NOT NULL UNIQUE,
      spec          TEXT NOT NULL,
      sample_count  INTEGER,
      preprocessing TEXT NOT NULL DEFAULT 'null',
      created_at    TEXT NOT NULL
    );

    CREATE TABLE runs (
      id                  INTEGER PRIMARY KEY,
      uuid                TEXT NOT NULL UNIQUE,
      model_id            INTEGER NOT NULL REFERENCES models(id),
      dataset_id          INTEGER REFERENCES datasets(id),
      recipe_name         TEXT,
      recipe              TEXT NOT NULL,
      status              TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
      error               TEXT,
      started_at          TEXT NOT NULL,
      finished_at         TEXT,
      float_accuracy      REAL,
      int8_accuracy       REAL,
      accuracy_drop       REAL,
      float_bytes         INTEGER,
      tflite_bytes        INTEGER,
      gzip_bytes          INTEGER,
      sparsity            REAL,
      max_distinct_values INTEGER,
      config              TEXT NOT NULL DEFAULT 'null',
      metrics             TEXT NOT NULL DEFAULT 'null'
    );
    CREATE INDEX runs_model ON runs(model_id, started_at);
    CREATE INDEX runs_status ON runs(status, started_at);
    CREATE INDEX runs_started ON runs(started_at);
    CREATE INDEX runs_int8_accuracy ON runs(int8_accuracy);
    CREATE INDEX runs_accuracy_drop ON runs(accuracy_drop);
    CREATE INDEX runs_tflite_bytes ON runs(tflite_bytes);
    CREATE INDEX runs_gzip_bytes ON runs(gzip_bytes);
    CREATE INDEX runs_sparsity ON runs(sparsity);

    CREATE TABLE run_layers (
      run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      position        INTEGER NOT NULL,
      name            TEXT NOT NULL,
      type            TEXT NOT NULL,
      policy          TEXT NOT NULL,
      sparsity        REAL,
      unique_values   INTEGER,
      sqnr_db         REAL,
      rmse_over_scale REAL,
      cosine          REAL,
      extra           TEXT NOT NULL DEFAULT 'null',
      PRIMARY KEY (run_id, position)
    ) WITHOUT ROWID;

    CREATE TABLE artifacts (
      sha256     TEXT PRIMARY KEY,
      kind       TEXT NOT NULL,
      bytes      INTEGER NOT NULL,
      created_at TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE run_artifacts (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      role   TEXT NOT NULL,
      sha256 TEXT NOT NULL REFERENCES artifacts(sha256),
      PRIMARY KEY (run_id, role)
    ) WITHOUT ROWID;
    CREATE INDEX run_artifacts_sha256 ON run_artifacts(sha256);
  `);
}
