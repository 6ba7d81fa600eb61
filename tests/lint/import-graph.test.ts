import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/cli';
import { coreImportGraph, importViolations, type ImportGraph } from './import-graph';

const graphOf = (edges: Record<string, string[]>): ImportGraph =>
  new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));

describe('the import graph of core/', () => {
  const graph = coreImportGraph(repoRoot);

  it('reads every module, with multi-line, type-only and dynamic imports', () => {
    assert.ok(graph.size > 150, `${graph.size} modules`);
    const run = graph.get('core/compress/run')!;
    assert.ok(run.has('core/compress/recipe'), 'multi-line import');
    assert.ok(run.has('core/store/index'), 'type-only import');
    assert.ok(graph.get('core/cli/commands/index')!.has('core/cli/commands/compress'), 'dynamic import');
  });

  it('has no pipeline module importing a face, no two folders importing each other, no stage importing the pipeline and no cycle', () => {
    assert.deepEqual(importViolations(graph), []);
  });

  it('keeps the fine-tune stage free of the pipeline and the drivers that run it', () => {
    const drivers = ['core/compress/pipeline', 'core/compress/finetune-flow', 'core/compress/finetune-step', 'core/compress/run'];
    const offending = [...graph]
      .filter(([from]) => from.startsWith('core/compress/finetune/'))
      .flatMap(([from, to]) => [...to].filter((t) => drivers.includes(t)).map((t) => `${from} -> ${t}`));
    assert.deepEqual(offending, []);
    assert.ok(graph.get('core/compress/pipeline')!.has('core/compress/finetune/stage'), 'the pipeline runs the fine-tune stage itself');
  });

  it('keeps the fine-tune stage free of the CLI', () => {
    const offending = [...graph]
      .filter(([from]) => from.startsWith('core/compress/finetune/'))
      .flatMap(([from, to]) => [...to].filter((t) => t.startsWith('core/cli/')).map((t) => `${from} -> ${t}`));
    assert.deepEqual(offending, []);
  });
});

describe('the import rules', () => {
  it('fail when a pipeline module imports the CLI, serve or Electron', () => {
    for (const target of ['core/cli/progress', 'core/serve/server', 'electron']) {
      const v = importViolations(graphOf({ 'core/compress/finetune/trainer': [target], [target]: [] }));
      assert.deepEqual(v.map((x) => x.rule), ['pipeline-imports-face'], target);
    }
  });

  it('fail when two core folders import each other, naming one import each way', () => {
    const v = importViolations(graphOf({ 'core/compress/run': ['core/eval/index'], 'core/eval/index': ['core/compress/graph'], 'core/compress/graph': [] }));
    assert.deepEqual(v.map((x) => x.rule), ['folders-import-each-other']);
    assert.match(v[0]!.detail, /core\/compress\/run imports core\/eval\/index; core\/eval\/index imports core\/compress\/graph/);
  });

  it('fail when a stage imports the pipeline that runs it', () => {
    const v = importViolations(graphOf({ 'core/compress/finetune/run': ['core/compress/pipeline'], 'core/compress/pipeline': [] }));
    assert.deepEqual(v.map((x) => x.rule), ['stage-imports-pipeline']);
  });

  it('fail on a cycle between modules of one folder', () => {
    const v = importViolations(graphOf({ 'core/store/bundle': ['core/store/store'], 'core/store/store': ['core/store/bundle'] }));
    assert.deepEqual(v, [{ rule: 'module-cycle', detail: 'core/store/bundle -> core/store/store' }]);
  });
});

describe("docs/DEVELOPING.md's map of core/", () => {
  it('names every folder under core/ and no folder that is gone', () => {
    const folders = (dir: string): string[] =>
      readdirSync(path.join(repoRoot, dir), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .flatMap((e) => [`${dir}/${e.name}/`, ...folders(`${dir}/${e.name}`)]);
    const doc = readFileSync(path.join(repoRoot, 'docs/DEVELOPING.md'), 'utf8');
    const mapped = [...doc.matchAll(/^\| `(core\/[^`]+\/)` \|/gm)].map((m) => m[1]!);
    assert.deepEqual([...mapped].sort(), folders('core').sort());
  });
});
