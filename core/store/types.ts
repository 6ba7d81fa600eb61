/**
 * Domain types of the experiment store. Writers (compress, push) pass the `*Input` shapes;
 * readers (CLI, UI) get the `*Record`, `RunSummary` and `RunDetail` shapes back.
 * Times are ISO-8601 UTC strings with milliseconds, which sort correctly as text.
 */

/** Any value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'cancelled'];

export type DeviceRunStatus = 'succeeded' | 'failed' | 'cancelled';
export const DEVICE_RUN_STATUSES: readonly DeviceRunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** A model as imported. `hash` is the sha256 of the model file(s) and identifies it. */
export interface ModelInput {
  hash: string;
  name: string;
  /** Where the user imported it from; informational, the file may have moved since. */
  sourcePath?: string;
  /** `keras`, `h5`, `tfjs`, `tflite`. */
  format: string;
  /** Layer names, types and parameter counts as the importer saw them. */
  layerSummary?: Json;
}

export interface ModelRecord {
  id: number;
  hash: string;
  name: string;
  sourcePath: string | null;
  format: string;
  layerSummary: Json;
  createdAt: string;
}

/** An evaluation or calibration data set. `hash` identifies the exact samples used. */
export interface DatasetInput {
  /** How the user named it, e.g. `fashion-mnist:test` or a folder path. */
  spec: string;
  hash: string;
  sampleCount?: number;
  preprocessing?: Json;
}

export interface DatasetRecord {
  id: number;
  spec: string;
  hash: string;
  sampleCount: number | null;
  preprocessing: Json;
  createdAt: string;
}

export interface BeginRunInput {
  modelId: number;
  datasetId?: number;
  /** The full recipe (prune, cluster, quantize, per-layer policies) exactly as run. */
  recipe: Json;
  /** The recipe's short name, if it came from a named preset or file. */
  recipeName?: string;
  tags?: string[];
  notes?: string;
  /** Tool versions, seeds and anything else needed to reproduce the run. */
  config?: Json;
  /** Given only when re-recording a run that already has an identity elsewhere. */
  uuid?: string;
}

/** Figures users sort and filter by; each becomes a real column. */
export interface RunMetrics {
  floatAccuracy?: number;
  int8Accuracy?: number;
  /** Defaults to `floatAccuracy - int8Accuracy` when both are given. */
  accuracyDrop?: number;
  /** Fraction of weights that are exactly zero, 0..1. */
  sparsity?: number;
  /** Largest number of distinct weight values in any clustered layer. */
  maxDistinctValues?: number;
}

export interface RunSizes {
  floatBytes?: number;
  tfliteBytes?: number;
  gzipBytes?: number;
}

/** One row of the per-layer report. */
export interface LayerReport {
  name: string;
  type: string;
  /** `int8`, `float` or `fold`. */
  policy: string;
  sparsity?: number;
  uniqueValues?: number;
  sqnrDb?: number;
  rmseOverScale?: number;
  cosine?: number;
  extra?: Json;
}

/** A stored file, addressed by the sha256 of its bytes. */
export interface ArtifactRef {
  sha256: string;
  kind: string;
  bytes: number;
}

/**
 * An artifact attached to a run under a role (`tflite`, `c-source`, `keras`, `report`).
 * Pass the bytes and the store writes the file; pass a ref from `putArtifact` for files
 * written earlier.
 */
export type RunArtifactInput =
  { role: string; kind?: string; bytes: Uint8Array } | { role: string; artifact: ArtifactRef };

export interface FinishRunInput {
  metrics?: RunMetrics;
  sizes?: RunSizes;
  layers?: LayerReport[];
  artifacts?: RunArtifactInput[];
  /** Everything else worth keeping (per-class accuracy, timings); stored as JSON. */
  details?: Json;
}

/** A board as it introduced itself (the `hello` reply) and where it was reached. */
export interface BoardInput {
  name: string;
  firmwareVersion: string;
  /** Serial path, `tcp://host:port` or `rfc2217://host:port`. */
  port: string;
  cpu?: string;
  clockHz?: number;
  details?: Json;
}

export interface BoardRecord {
  id: number;
  name: string;
  firmwareVersion: string;
  port: string;
  cpu: string | null;
  clockHz: number | null;
  details: Json;
  createdAt: string;
}

export interface LatencyStats {
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** One operator of a device profile, in execution order. */
export interface DeviceProfileOp {
  index: number;
  /** TFLite builtin name, e.g. CONV_2D. */
  op: string;
  /** The operator's first output tensor in the .tflite, which carries its layer's name. */
  output: string;
  cycles: number;
  us: number;
  /** Fraction of the summed cycles (derived when read back). */
  share: number;
  macs: number;
  /** Arena byte offset of the first output; null for a constant output. */
  outputOffset: number | null;
  outputBytes: number;
}

/** Per-operator cycles on the board and the whole inference they are held against. */
export interface DeviceProfile {
  runs: number;
  cpuHz: number;
  invokeCycles: number;
  invokeUs: number;
  profiledCycles: number;
  sumCycles: number;
  sumOverWhole: number;
  ops: DeviceProfileOp[];
}

export interface DeviceRunInput {
  runId: number;
  boardId: number;
  status: DeviceRunStatus;
  error?: string;
  latencyUs?: LatencyStats;
  cycles?: LatencyStats;
  /** Accuracy on the board over the evaluated samples, 0..1. */
  accuracy?: number;
  /** Fraction of samples whose board output equals the desktop int8 output exactly. */
  agreement?: number;
  arenaBytes?: number;
  modelBytes?: number;
  uploadSeconds?: number;
  uploadBytesPerSecond?: number;
  profile?: DeviceProfile;
  details?: Json;
  uuid?: string;
}

export interface DeviceRunRecord {
  id: number;
  uuid: string;
  runId: number;
  board: BoardRecord;
  status: DeviceRunStatus;
  error: string | null;
  latencyUs: LatencyStats | null;
  cycles: LatencyStats | null;
  accuracy: number | null;
  agreement: number | null;
  arenaBytes: number | null;
  modelBytes: number | null;
  uploadSeconds: number | null;
  uploadBytesPerSecond: number | null;
  profile: DeviceProfile | null;
  details: Json;
  createdAt: string;
}

/** One line of a run listing: the promoted columns only. */
export interface RunSummary {
  id: number;
  uuid: string;
  modelId: number;
  modelName: string;
  datasetSpec: string | null;
  recipeName: string | null;
  status: RunStatus;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  floatAccuracy: number | null;
  int8Accuracy: number | null;
  accuracyDrop: number | null;
  floatBytes: number | null;
  tfliteBytes: number | null;
  gzipBytes: number | null;
  sparsity: number | null;
  maxDistinctValues: number | null;
  tags: string[];
  notes: string | null;
}

export interface RunArtifactRecord extends ArtifactRef {
  role: string;
  /** Absolute path of the stored file. */
  path: string;
}

export interface RunDetail extends RunSummary {
  recipe: Json;
  config: Json;
  details: Json;
  model: ModelRecord;
  dataset: DatasetRecord | null;
  layers: StoredLayer[];
  artifacts: RunArtifactRecord[];
  deviceRuns: DeviceRunRecord[];
}

/** A layer row as read back: absent figures are null. */
export interface StoredLayer {
  name: string;
  type: string;
  policy: string;
  sparsity: number | null;
  uniqueValues: number | null;
  sqnrDb: number | null;
  rmseOverScale: number | null;
  cosine: number | null;
  extra: Json;
}

/** Numeric run columns that can be filtered by range and sorted by. */
export type RunMetricKey =
  | 'floatAccuracy'
  | 'int8Accuracy'
  | 'accuracyDrop'
  | 'floatBytes'
  | 'tfliteBytes'
  | 'gzipBytes'
  | 'sparsity'
  | 'maxDistinctValues';

export type RunSortKey =
  RunMetricKey | 'id' | 'startedAt' | 'finishedAt' | 'status' | 'recipeName' | 'model';

export interface Range {
  min?: number;
  max?: number;
}

export interface RunFilter {
  /** Model name, or a prefix of its hash. */
  model?: string;
  tag?: string;
  status?: RunStatus;
  /** Runs with at least one successful device run on a board of this name. */
  board?: string;
  recipeName?: string;
  ranges?: Partial<Record<RunMetricKey, Range>>;
}

export interface RunSort {
  by: RunSortKey;
  direction: 'asc' | 'desc';
}

export interface ListRunsOptions {
  filter?: RunFilter;
  sort?: RunSort;
  /** Page size; defaults to 50. */
  limit?: number;
  offset?: number;
}

export interface ListRunsResult {
  /** How many runs match the filter in all pages. */
  total: number;
  limit: number;
  offset: number;
  runs: RunSummary[];
}
