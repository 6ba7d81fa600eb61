import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { ArtifactFiles, unlinkIfPresent } from './artifacts';
import { DB_FILE_NAME, openDatabase, schemaVersionOf, type Db } from './db';
import { StoreError, invalidInput, runNotFound, translateWriteError } from './errors';
import { writeDeviceProfile } from './device-profile';
import { nowIso, toBoard, toDataset, toJsonText, toModel } from './rows';
import { listRuns } from './queries/list';
import { getRunDetail, resolveRunId } from './queries/detail';
import { compareRuns, type RunComparison } from './queries/compare';
import { paretoFront, type ParetoOptions, type ParetoResult } from './queries/pareto';
import { buildExport, type ExportDocument, type ImportResult } from './exchange';
import { exportToFile, importFromFile, type ExportFormat, type ExportSummary } from './bundle';
import type {
  ArtifactRef,
  BeginRunInput,
  BoardInput,
  BoardRecord,
  DatasetInput,
  DatasetRecord,
  DeviceRunInput,
  FinishRunInput,
  ListRunsOptions,
  ListRunsResult,
  ModelInput,
  ModelRecord,
  RunDetail,
  RunFilter,
  RunStatus,
} from './types';
import { DEVICE_RUN_STATUSES } from './types';

export interface OpenStoreOptions {
  readonly?: boolean;
}

/**
 * Opens the experiment store in `dataDir` (created if missing): the SQLite database
 * `quantbench.sqlite` and the content-addressed `artifacts/` folder beside it.
 * Several processes may open the same store at once; writes are serialised by SQLite.
 */
export function openStore(dataDir: string, options: OpenStoreOptions = {}): Store {
  const dir = path.resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true });
    const db = openDatabase(path.join(dir, DB_FILE_NAME), { readonly: options.readonly });
    try {
      return new Store(dir, db, options.readonly ?? false);
    } catch (error) {
      db.close();
      throw error;
    }
  } catch (error) {
    throw translateWriteError(error, dir);
  }
}

/** Everything recorded about experiments. Every method is synchronous and safe across processes. */
export class Store {
  readonly dataDir: string;
  readonly dbPath: string;
  readonly files: ArtifactFiles;
  /** @internal queries take the connection directly */
  readonly db: Db;
  readonly readonly: boolean;

  /** @internal use `openStore` */
  constructor(dataDir: string, db: Db, readonly: boolean) {
    this.dataDir = dataDir;
    this.db = db;
    this.dbPath = db.name;
    this.readonly = readonly;
    this.files = new ArtifactFiles(path.join(dataDir, 'artifacts'));
    if (!readonly) {
      this.files.recover((sha256) => this.artifactRowExists(sha256));
      this.failInterruptedRuns();
    }
  }

  /** The schema version (`PRAGMA user_version`) of the open database. */
  get schemaVersion(): number {
    return schemaVersionOf(this.db);
  }

  close(): void {
    this.db.close();
  }

  // ---------------------------------------------------------------- writers

  /** Records a model, or returns the existing record with the same content hash. */
  recordModel(input: ModelInput): ModelRecord {
    requireText(input.hash, 'model hash');
    requireText(input.name, 'model name');
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO models (hash, name, source_path, format, layer_summary, created_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING`,
        )
        .run(
          input.hash,
          input.name,
          input.sourcePath ?? null,
          input.format,
          toJsonText(input.layerSummary),
          nowIso(),
        );
      return toModel(
        this.db.prepare('SELECT * FROM models WHERE hash = ?').get(input.hash) as Record<
          string,
          unknown
        >,
      );
    });
  }

  /** Records a data set, or returns the existing record with the same hash. */
  recordDataset(input: DatasetInput): DatasetRecord {
    requireText(input.hash, 'dataset hash');
    requireText(input.spec, 'dataset spec');
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO datasets (hash, spec, sample_count, preprocessing, created_at)
           VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING`,
        )
        .run(
          input.hash,
          input.spec,
          input.sampleCount ?? null,
          toJsonText(input.preprocessing),
          nowIso(),
        );
      return toDataset(
        this.db.prepare('SELECT * FROM datasets WHERE hash = ?').get(input.hash) as Record<
          string,
          unknown
        >,
      );
    });
  }

  /** Records a board by its identity (name, firmware, port, cpu, clock); the same identity gives the same id. */
  recordBoard(input: BoardInput): BoardRecord {
    requireText(input.name, 'board name');
    const key = [
      input.name,
      input.firmwareVersion,
      input.port,
      input.cpu ?? '',
      input.clockHz ?? 0,
    ] as const;
    return this.write(() => {
      this.db
        .prepare(
          `INSERT INTO boards (name, firmware_version, port, cpu, clock_hz, details, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        )
        .run(...key, toJsonText(input.details), nowIso());
      const row = this.db
        .prepare(
          'SELECT * FROM boards WHERE name = ? AND firmware_version = ? AND port = ? AND cpu = ? AND clock_hz = ?',
        )
        .get(...key) as Record<string, unknown>;
      return toBoard(row);
    });
  }

  /**
   * Stores bytes as a content-addressed file (synced to disk before this returns) and lists it
   * in the artifacts table. Attach it to a run through `finishRun({ artifacts: [{ role, artifact }] })`.
   */
  putArtifact(bytes: Uint8Array, kind: string): ArtifactRef {
    return this.write(() => {
      const sha256 = this.files.write(bytes);
      this.db
        .transaction(() => {
          // Under the write lock: a concurrent orphan sweep may have taken an identical old file.
          if (!this.files.has(sha256)) this.files.write(bytes);
          this.insertArtifactRow(sha256, kind, bytes.byteLength);
        })
        .immediate();
      return { sha256, kind, bytes: bytes.byteLength };
    });
  }

  /** Starts a run in status `running` and returns its id. */
  beginRun(input: BeginRunInput): number {
    if (!Number.isInteger(input.modelId))
      throw invalidInput(
        `beginRun needs a model id, got ${String(input.modelId)}`,
        'Record the model with recordModel first',
      );
    return this.write(() =>
      this.db
        .transaction(() => {
          const id = Number(
            this.db
              .prepare(
                `INSERT INTO runs (uuid, model_id, dataset_id, recipe_name, recipe, status, started_at, config, notes, owner)
               VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)`,
              )
              .run(
                input.uuid ?? randomUUID(),
                input.modelId,
                input.datasetId ?? null,
                input.recipeName ?? null,
                toJsonText(input.recipe),
                nowIso(),
                toJsonText(input.config),
                input.notes ?? null,
                OWNER,
              ).lastInsertRowid,
          );
          this.insertTags(id, input.tags ?? []);
          return id;
        })
        .immediate(),
    );
  }

  /**
   * Marks a running run `succeeded` with its figures, per-layer report and artifacts.
   * Artifact files are written and synced first; the row commits after, in one transaction.
   */
  finishRun(id: number, input: FinishRunInput): void {
    this.settleRun(id, 'succeeded', null, input);
  }

  /** Marks a running run `failed` with the error; any partial results given are kept. */
  failRun(id: number, error: unknown, partial: FinishRunInput = {}): void {
    this.settleRun(id, 'failed', errorText(error), partial);
  }

  /** Marks a running run `cancelled`; `reason` is kept as its error text. */
  cancelRun(id: number, reason = 'cancelled by the user', partial: FinishRunInput = {}): void {
    this.settleRun(id, 'cancelled', reason, partial);
  }

  /** Records one push-and-measure of a run on a board; returns the device run id. */
  recordDeviceRun(input: DeviceRunInput): number {
    if (!DEVICE_RUN_STATUSES.includes(input.status)) {
      throw invalidInput(
        `Device run status "${input.status}" is not one of ${DEVICE_RUN_STATUSES.join(', ')}`,
        'Use succeeded, failed or cancelled',
      );
    }
    return this.write(() =>
      this.db.transaction(() => {
        this.requireRun(input.runId);
        const l = input.latencyUs;
        const c = input.cycles;
        const id = Number(
          this.db
            .prepare(
              `INSERT INTO device_runs (uuid, run_id, board_id, status, error,
                 latency_min_us, latency_median_us, latency_p95_us, latency_max_us,
                 cycles_min, cycles_median, cycles_p95, cycles_max, accuracy, agreement,
                 arena_bytes, model_bytes, upload_seconds, upload_bytes_per_second, metrics, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              input.uuid ?? randomUUID(),
              input.runId,
              input.boardId,
              input.status,
              input.error ?? null,
              l?.min ?? null,
              l?.median ?? null,
              l?.p95 ?? null,
              l?.max ?? null,
              c?.min ?? null,
              c?.median ?? null,
              c?.p95 ?? null,
              c?.max ?? null,
              input.accuracy ?? null,
              input.agreement ?? null,
              input.arenaBytes ?? null,
              input.modelBytes ?? null,
              input.uploadSeconds ?? null,
              input.uploadBytesPerSecond ?? null,
              toJsonText(input.details),
              nowIso(),
            ).lastInsertRowid,
        );
        if (input.profile) writeDeviceProfile(this.db, id, input.profile);
        return id;
      }).immediate(),
    );
  }

  addTags(id: number, tags: string[]): void {
    this.write(() =>
      this.db.transaction(() => (this.requireRun(id), this.insertTags(id, tags))).immediate(),
    );
  }

  removeTag(id: number, tag: string): void {
    this.write(() => {
      this.requireRun(id);
      this.db.prepare('DELETE FROM run_tags WHERE run_id = ? AND tag = ?').run(id, tag);
    });
  }

  /** Replaces the run's notes; null clears them. */
  setNotes(id: number, notes: string | null): void {
    this.write(() => {
      if (this.db.prepare('UPDATE runs SET notes = ? WHERE id = ?').run(notes, id).changes === 0)
        throw runNotFound(id);
    });
  }

  /**
   * Deletes a run with its layers, tags and device runs, and the artifact files no other run uses.
   * Files are moved to `.trash/` inside the transaction and removed only after it commits, so
   * no row ever names a missing file; an interrupted delete is settled on the next open.
   */
  deleteRun(id: number): { removedArtifacts: string[] } {
    const trashed: Array<{ file: string; sha256: string }> = [];
    try {
      this.write(() =>
        this.db
          .transaction(() => {
            const shas = this.db
              .prepare('SELECT sha256 FROM run_artifacts WHERE run_id = ?')
              .pluck()
              .all(id) as string[];
            if (this.db.prepare('DELETE FROM runs WHERE id = ?').run(id).changes === 0)
              throw runNotFound(id);
            const stillUsed = this.db
              .prepare('SELECT 1 FROM run_artifacts WHERE sha256 = ? LIMIT 1')
              .pluck();
            const dropRow = this.db.prepare('DELETE FROM artifacts WHERE sha256 = ?');
            for (const sha256 of shas) {
              if (stillUsed.get(sha256) !== undefined) continue;
              dropRow.run(sha256);
              const file = this.files.trash(sha256);
              if (file) trashed.push({ file, sha256 });
            }
          })
          .immediate(),
      );
    } catch (error) {
      for (const t of trashed) this.files.restore(t.file, t.sha256);
      throw error;
    }
    for (const t of trashed) unlinkIfPresent(t.file);
    return { removedArtifacts: trashed.map((t) => t.sha256) };
  }

  // ---------------------------------------------------------------- readers

  /** Runs matching a filter, sorted and paged, with the total count of matches. */
  listRuns(options: ListRunsOptions = {}): ListRunsResult {
    return listRuns(this.db, options);
  }

  /** Every imported model, newest first. */
  listModels(): ModelRecord[] {
    return this.db
      .prepare('SELECT * FROM models ORDER BY id DESC')
      .all()
      .map((r) => toModel(r as Record<string, unknown>));
  }

  getModel(id: number): ModelRecord {
    const row = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id);
    if (!row) throw invalidInput(`no model with id ${id}`, 'list the models with the Models view or `quantbench runs list`');
    return toModel(row as Record<string, unknown>);
  }

  /** One run with its model, data set, layers, artifacts and device runs. */
  getRun(ref: number | string): RunDetail {
    return getRunDetail(this.db, this.files, resolveRunId(this.db, ref));
  }

  /** Turns what a user typed (an id or a uuid prefix) into a run id. */
  resolveRunId(ref: number | string): number {
    return resolveRunId(this.db, ref);
  }

  /** 2 to 8 runs side by side: recipe differences, metrics, per-layer figures and device results. */
  compareRuns(refs: Array<number | string>): RunComparison {
    return compareRuns(
      this.db,
      this.files,
      refs.map((ref) => resolveRunId(this.db, ref)),
    );
  }

  /** Succeeded runs not beaten on both int8 accuracy and cost (size, or latency on a board). */
  paretoFront(options: ParetoOptions): ParetoResult {
    return paretoFront(this.db, options);
  }

  /** The portable record of every run matching `filter` (all runs without one). */
  exportRuns(filter?: RunFilter): ExportDocument {
    return buildExport(this.db, this.files, filter);
  }

  /** Writes an export: `.qbx` bundle, `.json`, `.csv`, or a directory (by extension unless `format` is given). */
  exportToFile(file: string, filter?: RunFilter, format?: ExportFormat): ExportSummary {
    return exportToFile(this, file, filter, format);
  }

  /**
   * Merges runs from a `.qbx` bundle, an export directory or `.json`, or another Quantbench
   * database. Runs already present (same uuid) are not duplicated; artifacts are shared by sha256.
   */
  importFrom(file: string): ImportResult & { file: string } {
    return this.write(() => importFromFile(this, file));
  }

  /**
   * Marks `failed` the running runs whose recording process on this machine has ended
   * (killed, crashed, power lost): they can never finish. Runs begun on other machines
   * (imported) are left alone. Called on open; returns the ids it settled.
   */
  failInterruptedRuns(): number[] {
    const prefix = `${hostname()}:`;
    return this.write(() =>
      this.db
        .transaction(() => {
          const running = this.db
            .prepare(
              "SELECT id, owner FROM runs WHERE status = 'running' AND owner IS NOT NULL AND substr(owner, 1, ?) = ?",
            )
            .all(prefix.length, prefix) as Array<{ id: number; owner: string }>;
          const settle = this.db.prepare(
            "UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status = 'running'",
          );
          const settled: number[] = [];
          for (const run of running) {
            const pid = Number(run.owner.slice(prefix.length));
            if (processAlive(pid)) continue;
            settle.run(
              `interrupted: the process recording this run (pid ${pid}) ended before the run finished`,
              nowIso(),
              run.id,
            );
            settled.push(run.id);
          }
          return settled;
        })
        .immediate(),
    );
  }

  /**
   * Removes artifact files no row lists: what a writer killed after writing a file but before
   * its run committed leaves behind. Only files older than `minAgeMs` (default one hour) go,
   * since a younger one may belong to a write still in progress; each check and removal holds
   * the write lock, so a row is never committed for a file being removed.
   */
  removeOrphanFiles(options: { minAgeMs?: number } = {}): {
    removed: string[];
    freedBytes: number;
  } {
    const minAgeMs = options.minAgeMs ?? 60 * 60 * 1000;
    const now = Date.now();
    const removed: string[] = [];
    let freedBytes = 0;
    this.write(() => {
      for (const sha256 of this.files.listStored()) {
        const age = this.files.ageMs(sha256, now);
        if (age === undefined || age < minAgeMs || this.artifactRowExists(sha256)) continue;
        this.db
          .transaction(() => {
            if (this.artifactRowExists(sha256)) return;
            const size = this.files.size(sha256);
            const trashed = this.files.trash(sha256);
            if (trashed === undefined) return;
            unlinkIfPresent(trashed);
            removed.push(sha256);
            freedBytes += size ?? 0;
          })
          .immediate();
      }
    });
    return { removed, freedBytes };
  }

  // ---------------------------------------------------------------- internals

  private settleRun(
    id: number,
    status: Exclude<RunStatus, 'running'>,
    error: string | null,
    input: FinishRunInput,
  ): void {
    this.write(() => {
      const pending = (input.artifacts ?? []).map((a) => {
        if ('bytes' in a) {
          const sha256 = this.files.write(a.bytes);
          return {
            role: a.role,
            sha256,
            kind: a.kind ?? a.role,
            bytes: a.bytes.byteLength,
            source: a.bytes,
          };
        }
        return {
          role: a.role,
          sha256: a.artifact.sha256,
          kind: a.artifact.kind,
          bytes: a.artifact.bytes,
          source: undefined,
        };
      });
      const m = input.metrics ?? {};
      const s = input.sizes ?? {};
      const drop =
        m.accuracyDrop ??
        (m.floatAccuracy !== undefined && m.int8Accuracy !== undefined
          ? m.floatAccuracy - m.int8Accuracy
          : null);
      this.db
        .transaction(() => {
          const current = this.db
            .prepare('SELECT status FROM runs WHERE id = ?')
            .pluck()
            .get(id) as string | undefined;
          if (current === undefined) throw runNotFound(id);
          if (current !== 'running') {
            throw new StoreError(
              'STORE_RUN_NOT_RUNNING',
              `Run ${id} is already ${current}; it cannot become ${status}`,
              {
                hint: 'A run is finished, failed or cancelled exactly once; start a new run with beginRun',
              },
            );
          }
          for (const a of pending) {
            // A concurrent delete may have removed the file after we wrote it; holding the
            // write lock now, check again so the row we commit names a file that exists.
            if (!this.files.has(a.sha256)) {
              if (!a.source) {
                throw new StoreError(
                  'STORE_ARTIFACT_MISSING',
                  `Artifact ${a.sha256} (${a.role}) for run ${id} is not in ${this.files.root}`,
                  {
                    hint: 'Store it again with putArtifact, or pass its bytes to finishRun',
                  },
                );
              }
              this.files.write(a.source);
            }
            this.insertArtifactRow(a.sha256, a.kind, a.bytes);
            this.db
              .prepare(
                'INSERT OR REPLACE INTO run_artifacts (run_id, role, sha256) VALUES (?, ?, ?)',
              )
              .run(id, a.role, a.sha256);
          }
          if (input.layers) {
            this.db.prepare('DELETE FROM run_layers WHERE run_id = ?').run(id);
            const insert = this.db.prepare(
              `INSERT INTO run_layers (run_id, position, name, type, policy, sparsity, unique_values, sqnr_db, rmse_over_scale, cosine, extra)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            );
            input.layers.forEach((l, i) =>
              insert.run(
                id,
                i,
                l.name,
                l.type,
                l.policy,
                l.sparsity ?? null,
                l.uniqueValues ?? null,
                l.sqnrDb ?? null,
                l.rmseOverScale ?? null,
                l.cosine ?? null,
                toJsonText(l.extra),
              ),
            );
          }
          this.db
            .prepare(
              `UPDATE runs SET status = ?, error = ?, finished_at = ?,
                 float_accuracy = ?, int8_accuracy = ?, accuracy_drop = ?, sparsity = ?, max_distinct_values = ?,
                 float_bytes = ?, tflite_bytes = ?, gzip_bytes = ?, metrics = ?
               WHERE id = ?`,
            )
            .run(
              status,
              error,
              nowIso(),
              m.floatAccuracy ?? null,
              m.int8Accuracy ?? null,
              drop,
              m.sparsity ?? null,
              m.maxDistinctValues ?? null,
              s.floatBytes ?? null,
              s.tfliteBytes ?? null,
              s.gzipBytes ?? null,
              toJsonText(input.details),
              id,
            );
        })
        .immediate();
    });
  }

  private insertArtifactRow(sha256: string, kind: string, bytes: number): void {
    this.db
      .prepare(
        'INSERT INTO artifacts (sha256, kind, bytes, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      )
      .run(sha256, kind, bytes, nowIso());
  }

  private insertTags(id: number, tags: string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)');
    for (const tag of tags) {
      const t = tag.trim();
      if (t === '')
        throw invalidInput(
          `An empty tag was given for run ${id}`,
          'Tags are non-empty words such as "baseline"',
        );
      insert.run(id, t);
    }
  }

  private requireRun(id: number): void {
    if (this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id) === undefined)
      throw runNotFound(id);
  }

  private artifactRowExists(sha256: string): boolean {
    return this.db.prepare('SELECT 1 FROM artifacts WHERE sha256 = ?').get(sha256) !== undefined;
  }

  private write<T>(fn: () => T): T {
    if (this.readonly) {
      throw new StoreError(
        'STORE_READONLY',
        `The experiment store in ${this.dataDir} was opened read-only`,
        {
          hint: 'Open it without the read-only option to record or change runs',
        },
      );
    }
    try {
      return fn();
    } catch (error) {
      throw translateWriteError(error, this.dataDir);
    }
  }
}

const OWNER = `${hostname()}:${process.pid}`;

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but another user's; only ESRCH means gone.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function requireText(value: unknown, what: string): void {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidInput(`The ${what} is empty`, `Give a non-empty ${what}`);
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
