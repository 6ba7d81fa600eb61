import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CompressError } from '../../core/compress/errors';
import { lowerKerasModel } from '../../core/compress/lower-keras';
import {
  PRESET_NAMES,
  checkDatasetFits,
  checkRecipeAgainstGraph,
  loadRecipe,
  parseRecipe,
  preset,
} from '../../core/compress/recipe';
import { tempDir } from '../helpers/tmp';
import { smallCnn } from './models';

const graph = lowerKerasModel(smallCnn());

function rejects(doc: unknown, pattern: RegExp, hintPattern?: RegExp): void {
  assert.throws(
    () => checkRecipeAgainstGraph(parseRecipe(doc), graph),
    (e: unknown) => {
      assert.ok(e instanceof CompressError, String(e));
      assert.equal(e.code, 'RECIPE_INVALID');
      assert.match(e.message, pattern);
      assert.ok(e.hint && e.hint.length > 10, 'says what to change');
      if (hintPattern) assert.match(e.hint!, hintPattern);
      return true;
    },
  );
}

describe('recipe', () => {
  it('offers the presets users can type, each valid on a real model', () => {
    assert.deepEqual(PRESET_NAMES, [
      'int8',
      'int8-keep-rescaling-float',
      'prune50-cluster16-int8',
      'prune50-cluster16-int8-keep-rescaling-float',
      'prune75-2of4-int8',
    ]);
    for (const name of PRESET_NAMES) {
      const r = preset(name);
      assert.equal(r.name, name);
      assert.equal(r.steps[r.steps.length - 1].step, 'quantize');
      checkRecipeAgainstGraph(r, graph);
    }
    const p = preset('prune50-cluster16-int8');
    assert.deepEqual(
      p.steps.map((s) => s.step),
      ['prune', 'cluster', 'quantize'],
    );
    // Folded BatchNormalization scales each channel on its own: one codebook per channel.
    assert.ok(p.steps[1].step === 'cluster' && p.steps[1].granularity === 'per-channel');
    const keep = preset('prune50-cluster16-int8-keep-rescaling-float');
    assert.ok(keep.steps[1].step === 'cluster' && keep.steps[1].granularity === 'per-layer');
    assert.throws(() => preset('int4'), /no recipe preset named "int4"/);
  });

  it('reads YAML and JSON files and fills defaults', () => {
    const dir = tempDir();
    const yamlFile = path.join(dir, 'r.yaml');
    writeFileSync(
      yamlFile,
      'name: mine\nsteps:\n  - step: prune\n    sparsity: 0.3\n    include: ["conv*"]\n  - step: cluster\n    k: 8\n    init: density\n  - step: quantize\n    calibration: { samples: 10, method: mse }\n    policy:\n      - layers: [{ type: Rescaling }]\n        policy: float\n',
    );
    const r = loadRecipe(yamlFile);
    assert.equal(r.name, 'mine');
    const [p, c, q] = r.steps;
    assert.ok(p.step === 'prune' && p.scope === 'per-layer' && p.pattern === 'unstructured');
    assert.ok(
      c.step === 'cluster' &&
        c.init === 'density' &&
        c.preserveSparsity &&
        c.granularity === 'per-layer',
    );
    assert.ok(
      q.step === 'quantize' &&
        q.calibration.method === 'mse' &&
        q.calibration.samples === 10 &&
        q.weights === 'per-channel',
    );
    const jsonFile = path.join(dir, 'r.json');
    writeFileSync(jsonFile, JSON.stringify({ steps: [{ step: 'quantize', inputType: 'int8' }] }));
    assert.equal((loadRecipe(jsonFile).steps[0] as { inputType: string }).inputType, 'int8');
    writeFileSync(jsonFile, '{ "steps": [ ');
    assert.throws(() => loadRecipe(jsonFile), /not valid JSON/);
    assert.throws(
      () => loadRecipe(path.join(dir, 'missing.yaml')),
      (e: CompressError) => e.code === 'RECIPE_NOT_FOUND' && /int8/.test(e.hint!),
    );
  });

  it('rejects unknown fields and bad values with the field path', () => {
    rejects({ steps: [{ step: 'prune', sparsity: 0.5, sparsty: 1 }] }, /steps\.0.*sparsty/);
    rejects({ steps: [{ step: 'quantise' }] }, /steps\.0/);
  });

  it('rejects a layer name the model does not have, naming similar layers', () => {
    rejects(
      { steps: [{ step: 'prune', sparsity: 0.5, include: ['conv9'] }] },
      /layer "conv9"/,
      /conv1/,
    );
    rejects(
      { steps: [{ step: 'quantize', policy: [{ layers: [{ name: 'bn9' }], policy: 'float' }] }] },
      /layer "bn9"/,
    );
  });

  it('rejects a layer type that is not a Keras type', () => {
    rejects(
      {
        steps: [
          { step: 'quantize', policy: [{ layers: [{ type: 'BatchNorm' }], policy: 'float' }] },
        ],
      },
      /type "BatchNorm"/,
      /BatchNormalization/,
    );
  });

  it('rejects k outside 2..256', () => {
    rejects({ steps: [{ step: 'cluster', k: 1 }] }, /k = 1.*2\.\.256/);
    rejects({ steps: [{ step: 'cluster', k: 257 }] }, /k = 257/);
  });

  it('rejects sparsity outside [0, 1)', () => {
    rejects({ steps: [{ step: 'prune', sparsity: 1 }] }, /sparsity 1 is outside \[0, 1\)/);
    rejects({ steps: [{ step: 'prune', sparsity: -0.1 }] }, /sparsity -0\.1/);
  });

  it('rejects 2:4 on a named layer with fewer than 4 input channels, and skips it with a warning when not named', () => {
    rejects(
      { steps: [{ step: 'prune', sparsity: 0.5, pattern: '2:4', include: ['conv1', 'conv2'] }] },
      /conv1.*1 input channel/,
      /exclude "conv1"/,
    );
    const { warnings } = checkRecipeAgainstGraph(preset('prune75-2of4-int8'), graph);
    assert.ok(
      warnings.some((w) => /conv1.*not pruned/.test(w)),
      warnings.join('; '),
    );
  });

  it('rejects quantize before other steps and duplicate steps', () => {
    rejects(
      { steps: [{ step: 'quantize' }, { step: 'prune', sparsity: 0.5 }] },
      /quantize must be the last/,
    );
    rejects(
      {
        steps: [
          { step: 'prune', sparsity: 0.5 },
          { step: 'prune', sparsity: 0.2 },
          { step: 'quantize' },
        ],
      },
      /more than one prune/,
    );
  });

  it('warns when the order would break the cluster guarantee', () => {
    const { warnings } = checkRecipeAgainstGraph(
      parseRecipe({
        steps: [{ step: 'cluster', k: 8 }, { step: 'prune', sparsity: 0.5 }, { step: 'quantize' }],
      }),
      graph,
    );
    assert.ok(warnings.some((w) => /k\+1 distinct values/.test(w)));
  });

  it('rejects a dataset that does not fit the model input or is too small to calibrate', () => {
    const r = preset('int8');
    checkDatasetFits(graph, { sampleShape: [12, 12, 1], count: 500, source: 'ok' }, r);
    assert.throws(
      () =>
        checkDatasetFits(
          graph,
          { sampleShape: [28, 28, 1], count: 500, source: 'fashion-mnist' },
          r,
        ),
      /fashion-mnist has samples of shape \[28, 28, 1\].*\[12, 12, 1\]/,
    );
    assert.throws(
      () => checkDatasetFits(graph, { sampleShape: [12, 12, 1], count: 20, source: 'tiny' }, r),
      /calibration asks for 100 samples but tiny has 20/,
    );
    assert.throws(
      () =>
        checkDatasetFits(
          graph,
          { sampleShape: [12, 12, 1], count: 500, source: 'cifar100', classes: 100 },
          r,
        ),
      /cifar100 has 100 classes.*10 values/,
    );
  });
});
