import type { ArtifactFiles } from '../artifacts';
import type { Db } from '../db';
import { StoreError, runNotFound } from '../errors';
import {
  RUN_SUMMARY_SELECT,
  parseJson,
  toBoard,
  toDataset,
  toDeviceRun,
  toLayer,
  toModel,
  toRunSummary,
} from '../rows';
import { readDeviceProfile } from '../device-profile';
import type { DeviceRunRecord, RunArtifactRecord, RunDetail, StoredLayer } from '../types';

type Row = Record<string, unknown>;

/** A run id, or a uuid prefix of at least 4 characters as printed by `runs list`. */
export function resolveRunId(db: Db, ref: number | string): number {
  const text = String(ref).trim();
  // A run number wins over a uuid that happens to start with the same digits.
  if (
    /^\d+$/.test(text) &&
    db.prepare('SELECT 1 FROM runs WHERE id = ?').get(Number(text)) !== undefined
  )
    return Number(text);
  if (!/^[0-9a-f-]{4,36}$/i.test(text)) throw runNotFound(ref);
  const ids = db
    .prepare('SELECT id FROM runs WHERE uuid LIKE ? LIMIT 2')
    .pluck()
    .all(`${text.toLowerCase()}%`) as number[];
  if (ids.length === 0) throw runNotFound(ref);
  if (ids.length > 1) {
    throw new StoreError(
      'STORE_RUN_AMBIGUOUS',
      `More than one run has a uuid starting with "${text}"`,
      {
        hint: 'Give more characters of the uuid, or the run number',
      },
    );
  }
  return ids[0]!;
}

export function layersOf(db: Db, runId: number): StoredLayer[] {
  return (
    db.prepare('SELECT * FROM run_layers WHERE run_id = ? ORDER BY position').all(runId) as Row[]
  ).map(toLayer);
}

export function deviceRunsOf(db: Db, runId: number): DeviceRunRecord[] {
  const rows = db
    .prepare(
      `SELECT dr.*, b.id AS b_id, b.name AS b_name, b.firmware_version AS b_firmware_version, b.port AS b_port,
              b.cpu AS b_cpu, b.clock_hz AS b_clock_hz, b.details AS b_details, b.created_at AS b_created_at
       FROM device_runs dr JOIN boards b ON b.id = dr.board_id WHERE dr.run_id = ? ORDER BY dr.id`,
    )
    .all(runId) as Row[];
  return rows.map((r) => {
    const board = toBoard(
      Object.fromEntries(
        Object.entries(r)
          .filter(([k]) => k.startsWith('b_'))
          .map(([k, v]) => [k.slice(2), v]),
      ),
    );
    return toDeviceRun(r, board, readDeviceProfile(db, r, board.clockHz ?? 0));
  });
}

export function artifactsOf(db: Db, files: ArtifactFiles, runId: number): RunArtifactRecord[] {
  const rows = db
    .prepare(
      'SELECT ra.role, a.sha256, a.kind, a.bytes FROM run_artifacts ra JOIN artifacts a ON a.sha256 = ra.sha256 WHERE ra.run_id = ? ORDER BY ra.role',
    )
    .all(runId) as Row[];
  return rows.map((r) => ({
    role: String(r.role),
    sha256: String(r.sha256),
    kind: String(r.kind),
    bytes: Number(r.bytes),
    path: files.pathFor(String(r.sha256)),
  }));
}

export function getRunDetail(db: Db, files: ArtifactFiles, id: number): RunDetail {
  return db
    .transaction(() => {
      const summaryRow = db.prepare(`${RUN_SUMMARY_SELECT} WHERE r.id = ?`).get(id) as
        Row | undefined;
      if (!summaryRow) throw runNotFound(id);
      const run = db
        .prepare('SELECT model_id, dataset_id, recipe, config, metrics FROM runs WHERE id = ?')
        .get(id) as Row;
      const model = toModel(
        db.prepare('SELECT * FROM models WHERE id = ?').get(run.model_id) as Row,
      );
      const datasetRow =
        run.dataset_id === null
          ? undefined
          : (db.prepare('SELECT * FROM datasets WHERE id = ?').get(run.dataset_id) as Row);
      return {
        ...toRunSummary(summaryRow),
        recipe: parseJson(run.recipe),
        config: parseJson(run.config),
        details: parseJson(run.metrics),
        model,
        dataset: datasetRow ? toDataset(datasetRow) : null,
        layers: layersOf(db, id),
        artifacts: artifactsOf(db, files, id),
        deviceRuns: deviceRunsOf(db, id),
      };
    })
    .deferred();
}
