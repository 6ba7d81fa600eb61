import { z } from 'zod';
// Result shapes are the core's own domain types; only their names cross into the renderer,
// which reaches them through this file.
import type { Histogram as WeightHistogram } from '../model/histogram';
import type { ListRunsResult, ParetoResult, RunComparison, RunDetail } from '../store/index';
import type { FlashResult } from '../device/gdb/flash';
import type { GdbServerInfo, ProbeInfo } from '../device/gdb/servers';
export type {
  DeviceProfile,
  DeviceProfileOp,
  DeviceRunRecord,
  ListRunsResult,
  ParetoResult,
  RunComparison,
  RunDetail,
  RunSummary,
  StoredLayer,
} from '../store/index';
import type { EventName, MethodName } from './methods';

/**
 * The one contract between the core and its faces. Every method's parameters are parsed
 * with these schemas wherever they arrive (IPC, WebSocket, CLI), so a face can never hand
 * the core something the core did not declare.
 */

export const AppInfo = z.object({
  name: z.literal('Quantbench'),
  version: z.string(),
  dataDir: z.string(),
  /** Version of the experiment database schema this Quantbench writes. */
  schemaVersion: z.number(),
  platform: z.string(),
  arch: z.string(),
  node: z.string(),
  backends: z.array(z.object({ name: z.string(), available: z.boolean(), detail: z.string() })),
  face: z.enum(['electron', 'serve', 'cli']),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const JobProgress = z.object({
  jobId: z.string(),
  kind: z.string(),
  step: z.string(),
  /** 0..1, or null while the amount of work is not yet known. */
  fraction: z.number().min(0).max(1).nullable(),
  message: z.string().optional(),
  etaSeconds: z.number().nonnegative().nullable().optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;

const RunId = z.number().int().positive();
const metricKeys = [
  'floatAccuracy',
  'int8Accuracy',
  'accuracyDrop',
  'floatBytes',
  'tfliteBytes',
  'gzipBytes',
  'sparsity',
  'maxDistinctValues',
] as const;
const Range = z.object({ min: z.number().optional(), max: z.number().optional() }).strict();

export const RunFilter = z
  .object({
    model: z.string().optional(),
    tag: z.string().optional(),
    status: z.enum(['running', 'succeeded', 'failed', 'cancelled']).optional(),
    board: z.string().optional(),
    recipeName: z.string().optional(),
    ranges: z.partialRecord(z.enum(metricKeys), Range).optional(),
  })
  .strict();
export type RunFilter = z.infer<typeof RunFilter>;

export const RunSort = z
  .object({
    by: z.enum([...metricKeys, 'id', 'startedAt', 'finishedAt', 'status', 'recipeName', 'model']),
    direction: z.enum(['asc', 'desc']),
  })
  .strict();

/** The histogram the model importer computes; one shape for the core and the UI. */
export type { Histogram as WeightHistogram } from '../model/histogram';

export interface ModelEntry {
  id: number;
  name: string;
  format: string;
  hash: string;
  path: string;
  layers: number;
  params: number;
  inputShape: (number | null)[];
  kerasVersion: string | null;
  isSample: boolean;
  createdAt: string;
}

export interface ModelView {
  model: ModelEntry;
  inputShape: (number | null)[];
  outputShape: (number | null)[];
  layers: {
    name: string;
    className: string;
    outputShape: (number | null)[];
    params: number;
    macs: number;
    histogram: WeightHistogram | null;
  }[];
  totals: { params: number; macs: number };
}

/** Results are produced by the core itself; they are typed, not re-parsed. */
const trusted = <T>() => z.custom<T>(() => true);

const ModelId = z.number().int().positive();

export interface JobStarted {
  jobId: string;
  kind: string;
}

export interface PresetEntry {
  name: string;
  /** The recipe document, as a user would write it. */
  recipe: unknown;
}

export const JobDone = z.object({
  jobId: z.string(),
  kind: z.string(),
  ok: z.boolean(),
  cancelled: z.boolean(),
  /** The experiment the job recorded, when it recorded one. */
  runId: z.number().optional(),
  error: z
    .object({
      name: z.string(),
      code: z.string(),
      message: z.string(),
      hint: z.string().optional(),
    })
    .optional(),
});
export type JobDone = z.infer<typeof JobDone>;

export const JobLog = z.object({ jobId: z.string(), line: z.string() });
export type JobLog = z.infer<typeof JobLog>;

const DatasetSpec = z.string().min(1).max(4096);

export interface PortEntry {
  path: string;
  /** A board or USB bridge recognised by its VID:PID. */
  board?: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  byId?: string;
  /** Set when this Quantbench started the board itself (virtual or QEMU). */
  launched?: 'virtual' | 'qemu';
}

export interface BoardHello {
  port: string;
  name: string;
  firmware: string;
  cpu: string;
  cpuHz: number;
  ramBytes: number;
  flashBytes: number;
  ops: number;
}

/** What the Boards screen offers for flashing: built images, and servers and probes seen here. */
export interface FlashTargets {
  images: Array<{ name: string; path: string }>;
  gdbServers: GdbServerInfo[];
  probes: ProbeInfo[];
}
export type { FlashResult };

const PortUrl = z
  .string()
  .min(1)
  .max(512)
  .refine(
    (p) => /^(\/dev\/|COM\d+$|tcp:\/\/|rfc2217:\/\/)/.test(p),
    'a port is /dev/…, COMn, tcp://host:port or rfc2217://host:port',
  );

export const contract = {
  'app.info': { params: z.object({}).strict(), result: AppInfo },
  'models.list': { params: z.object({}).strict(), result: trusted<ModelEntry[]>() },
  'models.upload': {
    params: z.object({ name: z.string().min(1).max(255), dataBase64: z.string().min(1) }).strict(),
    result: trusted<ModelEntry>(),
  },
  'models.importSample': { params: z.object({}).strict(), result: trusted<ModelEntry>() },
  'models.get': { params: z.object({ id: ModelId }).strict(), result: trusted<ModelView>() },
  'recipes.presets': { params: z.object({}).strict(), result: trusted<PresetEntry[]>() },
  'compress.start': {
    params: z
      .object({
        modelId: ModelId,
        /** A preset name or a recipe document; checked against the model before the job starts. */
        recipe: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
        data: DatasetSpec,
        calibData: DatasetSpec.optional(),
        inputScale: z.number().positive().optional(),
        evalLimit: z.number().int().min(1).optional(),
      })
      .strict(),
    result: trusted<JobStarted>(),
  },
  'boards.ports': { params: z.object({}).strict(), result: trusted<PortEntry[]>() },
  'boards.launch': {
    params: z
      .object({
        kind: z.enum(['virtual', 'qemu']),
        baud: z.number().int().min(1200).max(12_000_000).optional(),
      })
      .strict(),
    result: trusted<PortEntry>(),
  },
  /** A network board (ser2net, a board farm) the user typed in: its host may be used from then on. */
  'boards.addRemote': { params: z.object({ url: PortUrl }).strict(), result: trusted<PortEntry>() },
  'boards.stop': {
    params: z.object({ port: PortUrl }).strict(),
    result: z.object({ stopped: z.boolean() }),
  },
  'boards.hello': { params: z.object({ port: PortUrl }).strict(), result: trusted<BoardHello>() },
  'boards.push': {
    params: z
      .object({
        runId: RunId,
        port: PortUrl,
        bench: z.number().int().min(1).max(1000).optional(),
        /** Evaluate on the run's own test data (or `data`) for at most this many samples. */
        evalLimit: z.number().int().min(1).optional(),
        data: DatasetSpec.optional(),
        /** Time every operator on the board (PROFILE) and keep the profile with the device run. */
        profile: z.boolean().optional(),
      })
      .strict(),
    result: trusted<JobStarted>(),
  },
  'boards.flashTargets': { params: z.object({}).strict(), result: trusted<FlashTargets>() },
  'boards.flash': {
    params: z
      .object({
        /** A firmware .elf on the machine running the core. */
        image: z.string().min(1).max(4096),
        /** HOST:PORT of the GDB server. */
        gdb: z.string().min(1).max(300),
        resetCommand: z.string().min(1).max(200).optional(),
      })
      .strict(),
    result: trusted<FlashResult>(),
  },
  'jobs.cancel': {
    params: z.object({ jobId: z.string().min(1) }).strict(),
    result: z.object({ cancelled: z.boolean() }),
  },
  'runs.list': {
    params: z
      .object({
        filter: RunFilter.optional(),
        sort: RunSort.optional(),
        limit: z.number().int().min(1).max(10000).optional(),
        offset: z.number().int().min(0).optional(),
      })
      .strict(),
    result: trusted<ListRunsResult>(),
  },
  'runs.get': { params: z.object({ id: RunId }).strict(), result: trusted<RunDetail>() },
  'runs.compare': {
    params: z.object({ ids: z.array(RunId).min(2).max(8) }).strict(),
    result: trusted<RunComparison>(),
  },
  'runs.pareto': {
    params: z
      .object({
        cost: z.enum(['tfliteBytes', 'gzipBytes', 'latency']),
        board: z.string().optional(),
        filter: RunFilter.optional(),
      })
      .strict()
      .refine((p) => p.cost !== 'latency' || p.board, {
        message: 'latency needs a board name',
        path: ['board'],
      }),
    result: trusted<ParetoResult>(),
  },
  'runs.tag': {
    params: z
      .object({
        id: RunId,
        add: z.array(z.string().min(1).max(64)).optional(),
        remove: z.array(z.string()).optional(),
      })
      .strict(),
    result: trusted<RunDetail>(),
  },
  'runs.note': {
    params: z.object({ id: RunId, notes: z.string().max(20000).nullable() }).strict(),
    result: trusted<RunDetail>(),
  },
  'runs.delete': {
    params: z.object({ id: RunId }).strict(),
    result: z.object({ removedArtifacts: z.number() }),
  },
  'runs.exportCsv': {
    params: z.object({ filter: RunFilter.optional() }).strict(),
    result: z.object({ csv: z.string(), rows: z.number() }),
  },
} satisfies Record<MethodName, { params: z.ZodType; result: z.ZodType }>;

export const eventContract = {
  onJobProgress: JobProgress,
  onJobDone: JobDone,
  onJobLog: JobLog,
} satisfies Record<EventName, z.ZodType>;

export type Params<M extends MethodName> = z.input<(typeof contract)[M]['params']>;
export type Result<M extends MethodName> = z.output<(typeof contract)[M]['result']>;
export type EventPayload<E extends EventName> = z.output<(typeof eventContract)[E]>;

/** Parses parameters at a boundary; the error names the method and the offending field. */
export function parseParams<M extends MethodName>(method: M, params: unknown): Params<M> {
  const parsed = contract[method].params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at "${issue.path.join('.')}"` : '';
    throw new ContractError(
      `${method}: invalid parameters${where}: ${issue?.message ?? 'rejected'}`,
    );
  }
  return parsed.data as Params<M>;
}

export class ContractError extends Error {
  readonly code = 'INVALID_PARAMS';
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}
