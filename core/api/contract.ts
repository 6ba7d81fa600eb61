import { z } from 'zod';
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

export const contract = {
  'app.info': { params: z.object({}).strict(), result: AppInfo },
} satisfies Record<MethodName, { params: z.ZodType; result: z.ZodType }>;

export const eventContract = {
  onJobProgress: JobProgress,
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
    throw new ContractError(`${method}: invalid parameters${where}: ${issue?.message ?? 'rejected'}`);
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
