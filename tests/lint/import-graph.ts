import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A module of core/ (path relative to the repository, without extension) and what it imports. */
export type ImportGraph = Map<string, Set<string>>;

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/**
 * Every import of every module under core/, type-only ones included (a type shared both ways
 * couples two folders as much as a function does). Relative imports resolve to module ids
 * like `core/compress/run`; packages keep their name (`electron`, `@tensorflow/tfjs`).
 */
export function coreImportGraph(repoRoot: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const files = sourceFiles(path.join(repoRoot, 'core'));
  const ids = new Set(files.map((f) => moduleId(repoRoot, f)));
  for (const file of files) {
    const from = moduleId(repoRoot, file);
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const targets = new Set<string>();
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (!spec.startsWith('.')) {
        targets.add(spec);
        continue;
      }
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.(ts|mts|mjs|js)$/, '');
      targets.add(ids.has(target) ? target : ids.has(`${target}/index`) ? `${target}/index` : target);
    }
    graph.set(from, targets);
  }
  return graph;
}

function moduleId(repoRoot: string, file: string): string {
  return path.relative(repoRoot, file).split(path.sep).join('/').replace(/\.(ts|mts|mjs)$/, '');
}

/** `core/compress/finetune/run` → `compress`; undefined outside core/ and for core/*.ts itself. */
export function coreFolder(id: string): string | undefined {
  const parts = id.split('/');
  return parts[0] === 'core' && parts.length > 2 ? parts[1] : undefined;
}

/** The faces of the app: the core below them must never reach up into one. */
export const FACES = ['cli', 'serve'];
/** Folders that run the compression pipeline and what it reads and writes. */
export const PIPELINE_FOLDERS = ['compress', 'model', 'data', 'tflite', 'runtime', 'eval', 'export', 'train', 'store', 'device', 'jobs'];

/** The compression pipeline's drivers: they run the stages, so no stage may import them. */
export const PIPELINE_DRIVERS = ['pipeline', 'run', 'finetune-flow', 'finetune-step', 'record', 'report'].map((m) => `core/compress/${m}`);
/** The stages a recipe names, each with the modules that compute it. */
export const STAGE_MODULES = /^core\/compress\/(prune|cluster|quantize|calibrate|finetune\/.+)$/;

export interface Violation {
  rule: 'pipeline-imports-face' | 'folders-import-each-other' | 'module-cycle' | 'stage-imports-pipeline';
  detail: string;
}

/** What is wrong with the graph; empty when the layering holds. */
export function importViolations(graph: ImportGraph): Violation[] {
  const out: Violation[] = [];
  const folderEdges = new Map<string, Map<string, string>>();
  for (const [from, targets] of graph) {
    const fromFolder = coreFolder(from);
    for (const to of targets) {
      if (fromFolder && PIPELINE_FOLDERS.includes(fromFolder)) {
        const toFolder = coreFolder(to);
        if (to === 'electron' || to.startsWith('electron/') || (toFolder && FACES.includes(toFolder)) || to.startsWith('renderer/'))
          out.push({ rule: 'pipeline-imports-face', detail: `${from} imports ${to}` });
      }
      if (STAGE_MODULES.test(from) && PIPELINE_DRIVERS.includes(to))
        out.push({ rule: 'stage-imports-pipeline', detail: `${from} imports ${to}` });
      const toFolder = coreFolder(to);
      if (fromFolder && toFolder && fromFolder !== toFolder) {
        const edges = folderEdges.get(fromFolder) ?? new Map<string, string>();
        if (!edges.has(toFolder)) edges.set(toFolder, `${from} imports ${to}`);
        folderEdges.set(fromFolder, edges);
      }
    }
  }
  for (const [a, edges] of folderEdges) {
    for (const [b, why] of edges) {
      const back = folderEdges.get(b)?.get(a);
      if (back && a < b) out.push({ rule: 'folders-import-each-other', detail: `core/${a} and core/${b}: ${why}; ${back}` });
    }
  }
  for (const cycle of moduleCycles(graph))
    out.push({ rule: 'module-cycle', detail: cycle.join(' -> ') });
  return out;
}

/** Cycles between modules (one per strongly connected component, as a path), by Tarjan's algorithm. */
export function moduleCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v);
  return cycles;
}
