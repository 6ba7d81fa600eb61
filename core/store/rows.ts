import type {
  BoardRecord,
  DatasetRecord,
  DeviceProfile,
  DeviceRunRecord,
  Json,
  LatencyStats,
  ModelRecord,
  RunStatus,
  RunSummary,
  StoredLayer,
} from './types';

/** Row shapes as SQLite returns them, and their conversion to the domain types. */

export type Row = Record<string, unknown>;

export function parseJson(text: unknown): Json {
  return typeof text === 'string' ? (JSON.parse(text) as Json) : null;
}

export function toJsonText(value: Json | undefined): string {
  return JSON.stringify(value ?? null);
}

export function nowIso(): string {
  return new Date().toISOString();
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toModel(r: Row): ModelRecord {
  return {
    id: Number(r.id),
    hash: String(r.hash),
    name: String(r.name),
    sourcePath: str(r.source_path),
    format: String(r.format),
    layerSummary: parseJson(r.layer_summary),
    createdAt: String(r.created_at),
  };
}

export function toDataset(r: Row): DatasetRecord {
  return {
    id: Number(r.id),
    spec: String(r.spec),
    hash: String(r.hash),
    sampleCount: num(r.sample_count),
    preprocessing: parseJson(r.preprocessing),
    createdAt: String(r.created_at),
  };
}

export function toBoard(r: Row): BoardRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    firmwareVersion: String(r.firmware_version),
    port: String(r.port),
    cpu: r.cpu === '' ? null : str(r.cpu),
    clockHz: r.clock_hz === 0 ? null : num(r.clock_hz),
    details: parseJson(r.details),
    createdAt: String(r.created_at),
  };
}

/** The summary columns; `r` must come from `RUN_SUMMARY_SELECT`. */
export const RUN_SUMMARY_SELECT = `
  SELECT r.id, r.uuid, r.model_id, m.name AS model_name, d.spec AS dataset_spec, r.recipe_name, r.status,
         r.error, r.started_at, r.finished_at, r.float_accuracy, r.int8_accuracy, r.accuracy_drop,
         r.float_bytes, r.tflite_bytes, r.gzip_bytes, r.sparsity, r.max_distinct_values, r.notes,
         (SELECT group_concat(tag, char(31)) FROM run_tags t WHERE t.run_id = r.id) AS tags
  FROM runs r
  JOIN models m ON m.id = r.model_id
  LEFT JOIN datasets d ON d.id = r.dataset_id`;

export function toRunSummary(r: Row): RunSummary {
  return {
    id: Number(r.id),
    uuid: String(r.uuid),
    modelId: Number(r.model_id),
    modelName: String(r.model_name),
    datasetSpec: str(r.dataset_spec),
    recipeName: str(r.recipe_name),
    status: String(r.status) as RunStatus,
    error: str(r.error),
    startedAt: String(r.started_at),
    finishedAt: str(r.finished_at),
    floatAccuracy: num(r.float_accuracy),
    int8Accuracy: num(r.int8_accuracy),
    accuracyDrop: num(r.accuracy_drop),
    floatBytes: num(r.float_bytes),
    tfliteBytes: num(r.tflite_bytes),
    gzipBytes: num(r.gzip_bytes),
    sparsity: num(r.sparsity),
    maxDistinctValues: num(r.max_distinct_values),
    tags: typeof r.tags === 'string' && r.tags !== '' ? r.tags.split('\u001f').sort() : [],
    notes: str(r.notes),
  };
}

export function toLayer(r: Row): StoredLayer {
  return {
    name: String(r.name),
    type: String(r.type),
    policy: String(r.policy),
    sparsity: num(r.sparsity),
    uniqueValues: num(r.unique_values),
    sqnrDb: num(r.sqnr_db),
    rmseOverScale: num(r.rmse_over_scale),
    cosine: num(r.cosine),
    extra: parseJson(r.extra),
  };
}

function stats(r: Row, prefix: string, suffix: string): LatencyStats | null {
  const min = num(r[`${prefix}min${suffix}`]);
  if (min === null) return null;
  return {
    min,
    median: Number(r[`${prefix}median${suffix}`]),
    p95: Number(r[`${prefix}p95${suffix}`]),
    max: Number(r[`${prefix}max${suffix}`]),
  };
}

export function toDeviceRun(
  r: Row,
  board: BoardRecord,
  profile: DeviceProfile | null,
): DeviceRunRecord {
  return {
    id: Number(r.id),
    uuid: String(r.uuid),
    runId: Number(r.run_id),
    board,
    status: String(r.status) as DeviceRunRecord['status'],
    error: str(r.error),
    latencyUs: stats(r, 'latency_', '_us'),
    cycles: stats(r, 'cycles_', ''),
    accuracy: num(r.accuracy),
    agreement: num(r.agreement),
    arenaBytes: num(r.arena_bytes),
    modelBytes: num(r.model_bytes),
    uploadSeconds: num(r.upload_seconds),
    uploadBytesPerSecond: num(r.upload_bytes_per_second),
    profile,
    details: parseJson(r.metrics),
    createdAt: String(r.created_at),
  };
}
