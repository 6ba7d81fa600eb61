import { z } from 'zod';
import type { ArtifactFiles } from './artifacts';
import { sha256Hex } from './artifacts';
import type { Db } from './db';
import { StoreError } from './errors';
import { writeDeviceProfile } from './device-profile';
import { nowIso, toJsonText } from './rows';
import { getRunDetail } from './queries/detail';
import { whereFor } from './queries/list';
import type { Json, RunFilter } from './types';

/**
 * The portable form of runs: what `runs export` writes and `runs import` reads. Local ids do
 * not travel; runs and device runs are identified by uuid, models and data sets by hash,
 * boards by their identity and artifacts by sha256, so importing twice adds nothing.
 */
export const EXPORT_FORMAT = 'quantbench-runs';
export const EXPORT_VERSION = 1;

const json: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number(),
    z.string(),
    z.array(json),
    z.record(z.string(), json),
  ]),
);
const n = z.number().nullable();
const stats = z
  .object({ min: z.number(), median: z.number(), p95: z.number(), max: z.number() })
  .nullable();

const boardKey = z.object({
  name: z.string(),
  firmwareVersion: z.string(),
  port: z.string(),
  cpu: z.string().nullable(),
  clockHz: z.number().nullable(),
});

const deviceProfile = z.object({
  runs: z.number(),
  cpuHz: z.number(),
  invokeCycles: z.number(),
  invokeUs: z.number(),
  profiledCycles: z.number(),
  sumCycles: z.number(),
  sumOverWhole: z.number(),
  ops: z.array(
    z.object({
      index: z.number(),
      op: z.string(),
      output: z.string(),
      cycles: z.number(),
      us: z.number(),
      share: z.number(),
      macs: z.number(),
      outputOffset: z.number().nullable(),
      outputBytes: z.number(),
    }),
  ),
});

const exportedRun = z.object({
  uuid: z.string().min(8),
  model: z.object({
    hash: z.string(),
    name: z.string(),
    sourcePath: z.string().nullable(),
    format: z.string(),
    layerSummary: json,
  }),
  dataset: z
    .object({ hash: z.string(), spec: z.string(), sampleCount: n, preprocessing: json })
    .nullable(),
  recipeName: z.string().nullable(),
  recipe: json,
  config: json,
  details: json,
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  error: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  floatAccuracy: n,
  int8Accuracy: n,
  accuracyDrop: n,
  floatBytes: n,
  tfliteBytes: n,
  gzipBytes: n,
  sparsity: n,
  maxDistinctValues: n,
  tags: z.array(z.string()),
  notes: z.string().nullable(),
  layers: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      policy: z.string(),
      sparsity: n,
      uniqueValues: n,
      sqnrDb: n,
      rmseOverScale: n,
      cosine: n,
      extra: json,
    }),
  ),
  artifacts: z.array(
    z.object({
      role: z.string(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      kind: z.string(),
      bytes: z.number(),
    }),
  ),
  deviceRuns: z.array(
    z.object({
      uuid: z.string().min(8),
      board: boardKey.extend({ details: json }),
      status: z.enum(['succeeded', 'failed', 'cancelled']),
      error: z.string().nullable(),
      latencyUs: stats,
      cycles: stats,
      accuracy: n,
      agreement: n,
      arenaBytes: n,
      modelBytes: n,
      uploadSeconds: n,
      uploadBytesPerSecond: n,
      // Absent in exports written before device profiles were kept.
      profile: deviceProfile.nullable().optional(),
      details: json,
      createdAt: z.string(),
    }),
  ),
});

export const exportDocument = z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: z.string(),
  schemaVersion: z.number(),
  runs: z.array(exportedRun),
});

export type ExportDocument = z.infer<typeof exportDocument>;
export type ExportedRun = z.infer<typeof exportedRun>;

/** Every run matching the filter (all runs without one), oldest first. */
export function buildExport(db: Db, files: ArtifactFiles, filter?: RunFilter): ExportDocument {
  return db
    .transaction((): ExportDocument => {
      const where = whereFor(filter);
      const ids = db
        .prepare(
          `SELECT r.id FROM runs r JOIN models m ON m.id = r.model_id ${where.sql} ORDER BY r.id`,
        )
        .pluck()
        .all(...where.params) as number[];
      const runs = ids.map((id): ExportedRun => {
        const d = getRunDetail(db, files, id);
        return {
          uuid: d.uuid,
          model: {
            hash: d.model.hash,
            name: d.model.name,
            sourcePath: d.model.sourcePath,
            format: d.model.format,
            layerSummary: d.model.layerSummary,
          },
          dataset: d.dataset && {
            hash: d.dataset.hash,
            spec: d.dataset.spec,
            sampleCount: d.dataset.sampleCount,
            preprocessing: d.dataset.preprocessing,
          },
          recipeName: d.recipeName,
          recipe: d.recipe,
          config: d.config,
          details: d.details,
          status: d.status,
          error: d.error,
          startedAt: d.startedAt,
          finishedAt: d.finishedAt,
          floatAccuracy: d.floatAccuracy,
          int8Accuracy: d.int8Accuracy,
          accuracyDrop: d.accuracyDrop,
          floatBytes: d.floatBytes,
          tfliteBytes: d.tfliteBytes,
          gzipBytes: d.gzipBytes,
          sparsity: d.sparsity,
          maxDistinctValues: d.maxDistinctValues,
          tags: d.tags,
          notes: d.notes,
          layers: d.layers,
          artifacts: d.artifacts.map(({ role, sha256, kind, bytes }) => ({
            role,
            sha256,
            kind,
            bytes,
          })),
          deviceRuns: d.deviceRuns.map(({ id: _id, runId: _run, board, ...rest }) => ({
            ...rest,
            board: {
              name: board.name,
              firmwareVersion: board.firmwareVersion,
              port: board.port,
              cpu: board.cpu,
              clockHz: board.clockHz,
              details: board.details,
            },
          })),
        };
      });
      return {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        exportedAt: nowIso(),
        schemaVersion: db.pragma('user_version', { simple: true }) as number,
        runs,
      };
    })
    .deferred();
}

export function parseExport(value: unknown, source: string): ExportDocument {
  const result = exportDocument.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new StoreError(
      'STORE_IMPORT_INVALID',
      `${source} is not a Quantbench export: at ${issue.path.join('.') || 'the top'}: ${issue.message}`,
      {
        hint: 'Import a file written by "quantbench runs export", a .qbx bundle or a quantbench.sqlite file',
      },
    );
  }
  return result.data;
}

export interface ImportResult {
  runsAdded: number;
  /** Runs already present (same uuid); their new tags and device runs are still merged. */
  runsSkipped: number;
  deviceRunsAdded: number;
  artifactsAdded: number;
  /** Artifact links dropped because the bundle had no file for them (a bare .json export). */
  artifactsMissing: number;
}

/**
 * Merges an export into the store. Artifact files are verified against their sha256 and
 * written before the single transaction that adds the rows.
 */
export function mergeExport(
  db: Db,
  files: ArtifactFiles,
  doc: ExportDocument,
  readArtifact: (sha256: string) => Uint8Array | undefined,
  source: string,
): ImportResult {
  const available = new Set<string>();
  const toWrite = new Map<string, Uint8Array>();
  // Check every file before writing any, so a damaged bundle leaves nothing behind.
  for (const run of doc.runs) {
    for (const a of run.artifacts) {
      if (available.has(a.sha256) || toWrite.has(a.sha256)) continue;
      if (files.has(a.sha256)) {
        available.add(a.sha256);
        continue;
      }
      const bytes = readArtifact(a.sha256);
      if (!bytes) continue;
      if (sha256Hex(bytes) !== a.sha256) {
        throw new StoreError(
          'STORE_IMPORT_CORRUPT',
          `Artifact ${a.sha256} in ${source} does not match its sha256`,
          {
            hint: 'The bundle is damaged; export it again',
          },
        );
      }
      toWrite.set(a.sha256, bytes);
    }
  }
  for (const [sha256, bytes] of toWrite) {
    files.write(bytes);
    available.add(sha256);
  }
  const artifactsAdded = toWrite.size;

  return db
    .transaction((): ImportResult => {
      const result: ImportResult = {
        runsAdded: 0,
        runsSkipped: 0,
        deviceRunsAdded: 0,
        artifactsAdded,
        artifactsMissing: 0,
      };
      const runIdByUuid = db.prepare('SELECT id FROM runs WHERE uuid = ?').pluck();
      for (const run of doc.runs) {
        let runId = runIdByUuid.get(run.uuid) as number | undefined;
        if (runId === undefined) {
          runId = insertRun(db, run);
          for (const a of run.artifacts) {
            if (!available.has(a.sha256) || !files.has(a.sha256)) {
              result.artifactsMissing++;
              continue;
            }
            db.prepare(
              'INSERT INTO artifacts (sha256, kind, bytes, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
            ).run(a.sha256, a.kind, a.bytes, nowIso());
            db.prepare('INSERT INTO run_artifacts (run_id, role, sha256) VALUES (?, ?, ?)').run(
              runId,
              a.role,
              a.sha256,
            );
          }
          result.runsAdded++;
        } else {
          result.runsSkipped++;
        }
        const tag = db.prepare('INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)');
        for (const t of run.tags) tag.run(runId, t);
        for (const dr of run.deviceRuns) {
          if (db.prepare('SELECT 1 FROM device_runs WHERE uuid = ?').get(dr.uuid) !== undefined)
            continue;
          const boardId = boardIdFor(db, dr.board);
          const added = db
            .prepare(
              `INSERT INTO device_runs (uuid, run_id, board_id, status, error,
               latency_min_us, latency_median_us, latency_p95_us, latency_max_us,
               cycles_min, cycles_median, cycles_p95, cycles_max, accuracy, agreement,
               arena_bytes, model_bytes, upload_seconds, upload_bytes_per_second, metrics, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              dr.uuid,
              runId,
              boardId,
              dr.status,
              dr.error,
              dr.latencyUs?.min ?? null,
              dr.latencyUs?.median ?? null,
              dr.latencyUs?.p95 ?? null,
              dr.latencyUs?.max ?? null,
              dr.cycles?.min ?? null,
              dr.cycles?.median ?? null,
              dr.cycles?.p95 ?? null,
              dr.cycles?.max ?? null,
              dr.accuracy,
              dr.agreement,
              dr.arenaBytes,
              dr.modelBytes,
              dr.uploadSeconds,
              dr.uploadBytesPerSecond,
              toJsonText(dr.details),
              dr.createdAt,
            );
          if (dr.profile) writeDeviceProfile(db, Number(added.lastInsertRowid), dr.profile);
          result.deviceRunsAdded++;
        }
      }
      return result;
    })
    .immediate();
}

function insertRun(db: Db, run: ExportedRun): number {
  db.prepare(
    `INSERT INTO models (hash, name, source_path, format, layer_summary, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING`,
  ).run(
    run.model.hash,
    run.model.name,
    run.model.sourcePath,
    run.model.format,
    toJsonText(run.model.layerSummary),
    nowIso(),
  );
  const modelId = db
    .prepare('SELECT id FROM models WHERE hash = ?')
    .pluck()
    .get(run.model.hash) as number;
  let datasetId: number | null = null;
  if (run.dataset) {
    db.prepare(
      `INSERT INTO datasets (hash, spec, sample_count, preprocessing, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING`,
    ).run(
      run.dataset.hash,
      run.dataset.spec,
      run.dataset.sampleCount,
      toJsonText(run.dataset.preprocessing),
      nowIso(),
    );
    datasetId = db
      .prepare('SELECT id FROM datasets WHERE hash = ?')
      .pluck()
      .get(run.dataset.hash) as number;
  }
  const id = Number(
    db
      .prepare(
        `INSERT INTO runs (uuid, model_id, dataset_id, recipe_name, recipe, status, error, started_at, finished_at,
           float_accuracy, int8_accuracy, accuracy_drop, float_bytes, tflite_bytes, gzip_bytes, sparsity,
           max_distinct_values, config, metrics, notes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.uuid,
        modelId,
        datasetId,
        run.recipeName,
        toJsonText(run.recipe),
        run.status,
        run.error,
        run.startedAt,
        run.finishedAt,
        run.floatAccuracy,
        run.int8Accuracy,
        run.accuracyDrop,
        run.floatBytes,
        run.tfliteBytes,
        run.gzipBytes,
        run.sparsity,
        run.maxDistinctValues,
        toJsonText(run.config),
        toJsonText(run.details),
        run.notes,
      ).lastInsertRowid,
  );
  const layer = db.prepare(
    `INSERT INTO run_layers (run_id, position, name, type, policy, sparsity, unique_values, sqnr_db, rmse_over_scale, cosine, extra)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  run.layers.forEach((l, i) =>
    layer.run(
      id,
      i,
      l.name,
      l.type,
      l.policy,
      l.sparsity,
      l.uniqueValues,
      l.sqnrDb,
      l.rmseOverScale,
      l.cosine,
      toJsonText(l.extra),
    ),
  );
  return id;
}

function boardIdFor(db: Db, b: ExportedRun['deviceRuns'][number]['board']): number {
  const key = [b.name, b.firmwareVersion, b.port, b.cpu ?? '', b.clockHz ?? 0] as const;
  db.prepare(
    `INSERT INTO boards (name, firmware_version, port, cpu, clock_hz, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(...key, toJsonText(b.details), nowIso());
  return db
    .prepare(
      'SELECT id FROM boards WHERE name = ? AND firmware_version = ? AND port = ? AND cpu = ? AND clock_hz = ?',
    )
    .pluck()
    .get(...key) as number;
}
