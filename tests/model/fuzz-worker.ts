import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { QuantbenchError } from '../../core/errors';
import { loadModel } from '../../core/model/index';

/**
 * Runs as its own process so the test can kill it when one import hangs (run:
 * `node --import tsx tests/model/fuzz-worker.ts JOB.json`; one `FUZZ {json}` line per case). For each case it builds
 * a mutated model file from a seed, imports it and reports how the import ended.
 */

export interface FuzzSeed {
  /** The file to mutate; a tfjs seed's shard sits beside it. */
  file: string;
  kind: 'h5' | 'zip' | 'tfjs';
}

export interface FuzzJob {
  seeds: FuzzSeed[];
  cases: number;
  seed: number;
  workDir: string;
}

export interface FuzzReport {
  index: number;
  description: string;
  outcome: 'loaded' | 'quantbench-error' | 'crash';
  detail: string;
  ms: number;
}

let state = 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number) => Math.floor(random() * n);

function flipBytes(bytes: Uint8Array): [Uint8Array, string] {
  const out = Uint8Array.from(bytes);
  const count = 1 + int(8);
  const at: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = int(out.length);
    out[p] = int(256);
    at.push(`${p}=${out[p]}`);
  }
  return [out, `bytes set: ${at.join(',')}`];
}

function truncate(bytes: Uint8Array): [Uint8Array, string] {
  const n = int(bytes.length);
  return [bytes.subarray(0, n), `truncated to ${n} bytes`];
}

const ODD_VALUES: unknown[] = [
  null,
  -1,
  0,
  1e9,
  2.5,
  '',
  'relu',
  'Conv2D',
  [],
  [null],
  [-3, 0],
  {},
  { class_name: 'L2' },
  true,
  'mixed_float16',
];

/** Replaces, deletes or retypes one field somewhere in a JSON document. */
function mutateJson(doc: unknown): string {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    paths.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(doc, []);
  const target = pick(paths.slice(1));
  let parent = doc as Record<string | number, unknown>;
  for (const key of target.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = target.at(-1)!;
  if (random() < 0.3 && !Array.isArray(parent)) {
    delete parent[last];
    return `deleted ${target.join('.')}`;
  }
  parent[last] = structuredClone(pick(ODD_VALUES));
  return `set ${target.join('.')} to ${JSON.stringify(parent[last])}`;
}

function mutate(seed: FuzzSeed, bytes: Uint8Array): [Uint8Array, string] {
  const r = random();
  if (r < 0.4) return flipBytes(bytes);
  if (r < 0.6) return truncate(bytes);
  if (seed.kind === 'zip') {
    const entries = unzipSync(bytes);
    const name = random() < 0.8 ? 'config.json' : 'metadata.json';
    const doc = JSON.parse(strFromU8(entries[name]!));
    const what = mutateJson(doc);
    entries[name] = strToU8(JSON.stringify(doc));
    if (random() < 0.1) delete entries[pick(Object.keys(entries))];
    return [zipSync(entries, { level: 0 }), `${name}: ${what}`];
  }
  if (seed.kind === 'tfjs') {
    const doc = JSON.parse(strFromU8(bytes));
    const what = mutateJson(doc);
    return [strToU8(JSON.stringify(doc)), `model.json: ${what}`];
  }
  return flipBytes(bytes);
}

async function run(job: FuzzJob): Promise<void> {
  state = job.seed >>> 0;
  const originals = job.seeds.map((s) => readFileSync(s.file));
  for (let index = 0; index < job.cases; index++) {
    const which = int(job.seeds.length);
    const seed = job.seeds[which]!;
    const [bytes, change] = mutate(seed, originals[which]!);
    const dir = path.join(job.workDir, `case-${index}`);
    mkdirSync(dir, { recursive: true });
    if (seed.kind === 'tfjs') {
      const shard = path.join(path.dirname(seed.file), 'group1-shard1of1.bin');
      writeFileSync(path.join(dir, 'group1-shard1of1.bin'), readFileSync(shard));
    }
    const file = path.join(dir, path.basename(seed.file));
    writeFileSync(file, bytes);
    const description = `${path.basename(seed.file)}: ${change}`;
    // Announced first, so a hang can be pinned on this case.
    process.stdout.write(`BEGIN ${JSON.stringify({ index, description })}\n`);
    const started = performance.now();
    let outcome: FuzzReport['outcome'] = 'loaded';
    let detail = '';
    try {
      const imported = await loadModel(file);
      imported.model.dispose();
    } catch (error) {
      outcome = error instanceof QuantbenchError ? 'quantbench-error' : 'crash';
      detail =
        error instanceof Error
          ? `${error.name}: ${error.message}\n${outcome === 'crash' ? error.stack : ''}`
          : String(error);
    }
    const report: FuzzReport = {
      index,
      description,
      outcome,
      detail,
      ms: performance.now() - started,
    };
    process.stdout.write(`FUZZ ${JSON.stringify(report)}\n`);
    rmSync(dir, { recursive: true, force: true });
  }
}

await run(JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FuzzJob);
