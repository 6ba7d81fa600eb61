/**
 * The names that may cross a process line. Kept free of imports so the Electron preload,
 * which runs sandboxed, can carry this list without pulling in the schemas.
 */
export const methodNames = [
  'app.info',
  'models.list',
  'models.upload',
  'models.importSample',
  'models.get',
  'recipes.presets',
  'compress.start',
  'boards.ports',
  'boards.launch',
  'boards.stop',
  'boards.addRemote',
  'boards.hello',
  'boards.push',
  'boards.flashTargets',
  'boards.flash',
  'jobs.cancel',
  'runs.list',
  'runs.get',
  'runs.compare',
  'runs.pareto',
  'runs.tag',
  'runs.note',
  'runs.delete',
  'runs.exportCsv',
] as const;
export const eventNames = ['onJobProgress', 'onJobDone', 'onJobLog'] as const;

export type MethodName = (typeof methodNames)[number];
export type EventName = (typeof eventNames)[number];

export function isMethodName(value: unknown): value is MethodName {
  return typeof value === 'string' && (methodNames as readonly string[]).includes(value);
}

export function isEventName(value: unknown): value is EventName {
  return typeof value === 'string' && (eventNames as readonly string[]).includes(value);
}
