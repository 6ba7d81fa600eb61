import type { Db } from '../db';
import { invalidInput } from '../errors';
import { RUN_SUMMARY_SELECT, toRunSummary } from '../rows';
import type { RunFilter, RunSummary } from '../types';
import { whereFor } from './list';

export type ParetoCost = 'tfliteBytes' | 'gzipBytes' | 'latency';

export interface ParetoOptions {
  /** What to minimise against int8 accuracy. `latency` needs `board`. */
  cost: ParetoCost;
  /** Board name; its median latency of the latest successful device run is the cost. */
  board?: string;
  filter?: RunFilter;
}

export interface ParetoPoint {
  run: RunSummary;
  accuracy: number;
  cost: number;
}

export interface ParetoResult {
  cost: ParetoCost;
  board: string | null;
  /** Cheapest first; each point is more accurate than every cheaper one. */
  front: ParetoPoint[];
  /** Succeeded runs with both figures that the front dominates. */
  dominated: number;
}

export function paretoFront(db: Db, options: ParetoOptions): ParetoResult {
  const where = whereFor({ ...options.filter, status: 'succeeded' });
  let costSql: string;
  const params: unknown[] = [];
  if (options.cost === 'latency') {
    if (!options.board)
      throw invalidInput(
        'The latency Pareto front needs a board',
        'Pass the board name, e.g. --board host',
      );
    costSql = `(SELECT dr.latency_median_us FROM device_runs dr JOIN boards b ON b.id = dr.board_id
                WHERE dr.run_id = r.id AND b.name = ? AND dr.status = 'succeeded' ORDER BY dr.id DESC LIMIT 1)`;
    params.push(options.board);
  } else if (options.cost === 'tfliteBytes' || options.cost === 'gzipBytes') {
    costSql = options.cost === 'tfliteBytes' ? 'r.tflite_bytes' : 'r.gzip_bytes';
  } else {
    throw invalidInput(
      `Unknown Pareto cost "${String(options.cost)}"`,
      'Use tfliteBytes, gzipBytes or latency',
    );
  }
  // Only ids and the two figures are read for every candidate; summaries only for the front.
  const sql = `SELECT r.id, r.int8_accuracy AS accuracy, ${costSql} AS cost FROM runs r JOIN models m ON m.id = r.model_id ${where.sql}`;
  return db
    .transaction((): ParetoResult => {
      const candidates = db
        .prepare(
          `SELECT * FROM (${sql}) WHERE cost IS NOT NULL AND accuracy IS NOT NULL ORDER BY cost ASC, accuracy DESC, id ASC`,
        )
        .all(...params, ...where.params) as Array<{ id: number; accuracy: number; cost: number }>;
      const points: Array<{ id: number; accuracy: number; cost: number }> = [];
      let best = -Infinity;
      for (const c of candidates) {
        if (c.accuracy > best) {
          points.push(c);
          best = c.accuracy;
        }
      }
      const summaries = new Map(
        (
          db
            .prepare(`${RUN_SUMMARY_SELECT} WHERE r.id IN (SELECT value FROM json_each(?))`)
            .all(JSON.stringify(points.map((p) => p.id))) as Array<Record<string, unknown>>
        )
          .map(toRunSummary)
          .map((r) => [r.id, r]),
      );
      const front: ParetoPoint[] = points.map((p) => ({
        run: summaries.get(p.id)!,
        accuracy: p.accuracy,
        cost: p.cost,
      }));
      return {
        cost: options.cost,
        board: options.board ?? null,
        front,
        dominated: candidates.length - front.length,
      };
    })
    .deferred();
}
