import type { Db } from '../db';
import { invalidInput } from '../errors';
import { RUN_SUMMARY_SELECT, toRunSummary } from '../rows';
import {
  RUN_STATUSES,
  type ListRunsOptions,
  type ListRunsResult,
  type RunFilter,
  type RunMetricKey,
  type RunSortKey,
} from '../types';

/** Promoted columns by their API name; the only strings that ever reach SQL from a sort or range. */
export const METRIC_COLUMNS: Record<RunMetricKey, string> = {
  floatAccuracy: 'r.float_accuracy',
  int8Accuracy: 'r.int8_accuracy',
  accuracyDrop: 'r.accuracy_drop',
  floatBytes: 'r.float_bytes',
  tfliteBytes: 'r.tflite_bytes',
  gzipBytes: 'r.gzip_bytes',
  sparsity: 'r.sparsity',
  maxDistinctValues: 'r.max_distinct_values',
};

export const SORT_COLUMNS: Record<RunSortKey, string> = {
  ...METRIC_COLUMNS,
  id: 'r.id',
  startedAt: 'r.started_at',
  finishedAt: 'r.finished_at',
  status: 'r.status',
  recipeName: 'r.recipe_name',
  model: 'm.name',
};

export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 10_000;

export interface WhereClause {
  sql: string;
  params: unknown[];
}

/**
 * The WHERE clause for a filter over `runs r JOIN models m`. Model, tag and board become
 * `IN (subquery)` so SQLite starts from their indexes instead of testing every run.
 */
export function whereFor(filter: RunFilter = {}): WhereClause {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.model !== undefined) {
    parts.push('r.model_id IN (SELECT id FROM models WHERE name = ? OR hash LIKE ?)');
    params.push(filter.model, `${filter.model.toLowerCase()}%`);
  }
  if (filter.status !== undefined) {
    if (!RUN_STATUSES.includes(filter.status)) {
      throw invalidInput(
        `Unknown run status "${filter.status}"`,
        `Use one of ${RUN_STATUSES.join(', ')}`,
      );
    }
    parts.push('r.status = ?');
    params.push(filter.status);
  }
  if (filter.tag !== undefined) {
    parts.push('r.id IN (SELECT run_id FROM run_tags WHERE tag = ?)');
    params.push(filter.tag);
  }
  if (filter.recipeName !== undefined) {
    parts.push('r.recipe_name = ?');
    params.push(filter.recipeName);
  }
  if (filter.board !== undefined) {
    parts.push(
      `r.id IN (SELECT dr.run_id FROM device_runs dr JOIN boards b ON b.id = dr.board_id
                WHERE b.name = ? AND dr.status = 'succeeded')`,
    );
    params.push(filter.board);
  }
  for (const [key, range] of Object.entries(filter.ranges ?? {})) {
    const column = METRIC_COLUMNS[key as RunMetricKey];
    if (!column)
      throw invalidInput(
        `Cannot filter runs by "${key}"`,
        `Use one of ${Object.keys(METRIC_COLUMNS).join(', ')}`,
      );
    if (range?.min !== undefined) {
      parts.push(`${column} >= ?`);
      params.push(range.min);
    }
    if (range?.max !== undefined) {
      parts.push(`${column} <= ?`);
      params.push(range.max);
    }
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/**
 * Offset pagination: run lists are browsed a page at a time and jumped around in, and with
 * the sort columns indexed an offset over tens of thousands of runs stays in milliseconds.
 * NULLs sort last in both directions so unmeasured runs never crowd the top of a list.
 */
export function listRuns(db: Db, options: ListRunsOptions = {}): ListRunsResult {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw invalidInput(
      `Page size ${limit} is out of range`,
      `Use a whole number from 1 to ${MAX_PAGE_SIZE}`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0)
    throw invalidInput(`Offset ${offset} is not a whole number ≥ 0`, 'Use 0 for the first page');
  const sort = options.sort ?? { by: 'id', direction: 'desc' };
  const column = SORT_COLUMNS[sort.by];
  if (!column)
    throw invalidInput(
      `Cannot sort runs by "${sort.by}"`,
      `Use one of ${Object.keys(SORT_COLUMNS).join(', ')}`,
    );
  const direction = sort.direction === 'asc' ? 'ASC' : 'DESC';
  const where = whereFor(options.filter);
  // One read transaction so the count and the page come from the same snapshot.
  return db
    .transaction(() => {
      const total = db
        .prepare(`SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id ${where.sql}`)
        .pluck()
        .get(...where.params) as number;
      const rows = db
        .prepare(
          `${RUN_SUMMARY_SELECT} ${where.sql} ORDER BY ${column} ${direction} NULLS LAST, r.id ${direction} LIMIT ? OFFSET ?`,
        )
        .all(...where.params, limit, offset) as Record<string, unknown>[];
      return { total, limit, offset, runs: rows.map(toRunSummary) };
    })
    .deferred();
}
