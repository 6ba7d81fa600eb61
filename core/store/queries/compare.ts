import type { ArtifactFiles } from '../artifacts';
import type { Db } from '../db';
import { invalidInput } from '../errors';
import type {
  DeviceRunRecord,
  Json,
  RunArtifactRecord,
  RunMetricKey,
  RunSummary,
  StoredLayer,
} from '../types';
import { getRunDetail } from './detail';
import { METRIC_COLUMNS } from './list';

export const MIN_COMPARE = 2;
export const MAX_COMPARE = 8;

/** A recipe setting whose value is not the same in every compared run. */
export interface RecipeDifference {
  /** JSONPath-like location, e.g. `$.prune.targetSparsity` or `$.layers[2].policy`. */
  path: string;
  /** One value per run, in the order the runs were given; null where the run lacks the setting. */
  values: Array<Json | null>;
}

export interface MetricRow {
  key: RunMetricKey;
  values: Array<number | null>;
  /** Difference from the first run; null where either side is unknown. */
  deltas: Array<number | null>;
}

export type LayerFigures = Omit<StoredLayer, 'name'>;

export interface LayerRow {
  name: string;
  /** One entry per run; null where the run has no layer of this name. */
  runs: Array<LayerFigures | null>;
  /** Fields whose values are not the same in every run that has the layer. */
  differing: Array<keyof LayerFigures>;
}

export interface DeviceRow {
  board: string;
  firmwareVersion: string;
  /** The latest device run of each compared run on this board, null where it never ran there. */
  runs: Array<DeviceRunRecord | null>;
}

export interface RunComparison {
  runs: RunSummary[];
  recipeDifferences: RecipeDifference[];
  metrics: MetricRow[];
  layers: LayerRow[];
  devices: DeviceRow[];
  artifacts: Array<Array<RunArtifactRecord>>;
}

/** Side-by-side view of runs; all figures come from one read snapshot. */
export function compareRuns(db: Db, files: ArtifactFiles, ids: number[]): RunComparison {
  if (ids.length < MIN_COMPARE || ids.length > MAX_COMPARE) {
    throw invalidInput(
      `Compare takes ${MIN_COMPARE} to ${MAX_COMPARE} runs, got ${ids.length}`,
      'Pick between two and eight run ids',
    );
  }
  const details = db.transaction(() => ids.map((id) => getRunDetail(db, files, id))).deferred();

  const recipeLeaves = details.map((d) => flatten(d.recipe));
  const paths = unionInOrder(recipeLeaves.map((m) => [...m.keys()]));
  const recipeDifferences: RecipeDifference[] = [];
  for (const p of paths) {
    const raw = recipeLeaves.map((m) => (m.has(p) ? JSON.stringify(m.get(p)) : undefined));
    if (raw.every((v) => v === raw[0])) continue;
    recipeDifferences.push({
      path: p,
      values: recipeLeaves.map((m) => (m.has(p) ? (m.get(p) as Json) : null)),
    });
  }

  const metrics = (Object.keys(METRIC_COLUMNS) as RunMetricKey[]).map((key) => {
    const values = details.map((d) => d[key]);
    const base = values[0];
    return {
      key,
      values,
      deltas: values.map((v) =>
        v === null || base === null || base === undefined ? null : v - base,
      ),
    };
  });

  const layerMaps = details.map((d) => new Map(d.layers.map((l) => [l.name, l])));
  const layers = unionInOrder(details.map((d) => d.layers.map((l) => l.name))).map(
    (name): LayerRow => {
      const runs = layerMaps.map((m) => {
        const l = m.get(name);
        if (!l) return null;
        const { name: _, ...figures } = l;
        return figures;
      });
      const present = runs.filter((r): r is LayerFigures => r !== null);
      const fields = present.length ? (Object.keys(present[0]!) as Array<keyof LayerFigures>) : [];
      const differing = fields.filter((f) =>
        present.some((r) => JSON.stringify(r[f]) !== JSON.stringify(present[0]![f])),
      );
      return { name, runs, differing };
    },
  );

  const boards = new Map<number, DeviceRow>();
  details.forEach((d, i) => {
    for (const dr of d.deviceRuns) {
      let row = boards.get(dr.board.id);
      if (!row) {
        row = {
          board: dr.board.name,
          firmwareVersion: dr.board.firmwareVersion,
          runs: details.map(() => null),
        };
        boards.set(dr.board.id, row);
      }
      // device runs come in id order, so the last one seen is the latest
      row.runs[i] = dr;
    }
  });

  return {
    runs: details.map(
      ({
        recipe: _r,
        config: _c,
        details: _d,
        model: _m,
        dataset: _ds,
        layers: _l,
        artifacts: _a,
        deviceRuns: _dr,
        ...summary
      }) => summary,
    ),
    recipeDifferences,
    metrics,
    layers,
    devices: [...boards.values()],
    artifacts: details.map((d) => d.artifacts),
  };
}

/** Leaf values of a JSON document by path. Empty objects and arrays count as leaves. */
export function flatten(
  value: Json,
  prefix = '$',
  out = new Map<string, Json>(),
): Map<string, Json> {
  if (Array.isArray(value) && value.length > 0) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0
  ) {
    for (const [k, v] of Object.entries(value))
      flatten(
        v,
        /^[A-Za-z_$][\w$]*$/.test(k) ? `${prefix}.${k}` : `${prefix}[${JSON.stringify(k)}]`,
        out,
      );
  } else {
    out.set(prefix, value);
  }
  return out;
}

function unionInOrder(lists: string[][]): string[] {
  const seen = new Set<string>();
  for (const list of lists) for (const item of list) seen.add(item);
  return [...seen];
}
