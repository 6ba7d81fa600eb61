/** The experiment store: every model, run, layer report, artifact and board measurement. */
export { openStore, Store, type OpenStoreOptions } from './store';
export { StoreError } from './errors';
export { latestSchemaVersion } from './migrations/index';
export { DB_FILE_NAME } from './db';
export type {
  RunComparison,
  RecipeDifference,
  MetricRow,
  LayerRow,
  DeviceRow,
} from './queries/compare';
export type { ParetoOptions, ParetoResult, ParetoPoint, ParetoCost } from './queries/pareto';
export type { ExportDocument, ImportResult } from './exchange';
export type { ExportFormat, ExportSummary } from './bundle';
export * from './types';
