import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toCSource } from '../../core/export/c-source';
import { describeModel } from '../../core/export/model-about';
import { tflmResolverHeader } from '../../core/export/tflm-resolver';
import { Runtime } from '../../core/runtime/index';
import { readTflite } from '../../core/tflite/index';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

const cc = process.env.CC ?? 'cc';
const kws = 'kws_ref_model.tflite';

/** Prints every macro the header defines for input 0 and output 0, the way firmware reads them. */
const printProgram = `
#include <stdio.h>
#include "model_data.h"
int main(void) {
  int in_dims[] = G_MODEL_INPUT0_DIMS, out_dims[] = G_MODEL_OUTPUT0_DIMS, i;
  printf("%u %d %d %u %s\\n", G_MODEL_ARENA_BYTES, G_MODEL_INPUT_COUNT, G_MODEL_OUTPUT_COUNT, G_MODEL_INPUT0_BYTES, G_MODEL_INPUT0_TYPE);
  printf("%.9g %d %.9g %d\\n", (double)G_MODEL_INPUT0_SCALE, G_MODEL_INPUT0_ZERO_POINT, (double)G_MODEL_OUTPUT0_SCALE, G_MODEL_OUTPUT0_ZERO_POINT);
  for (i = 0; i < G_MODEL_INPUT0_RANK; i++) printf("%d ", in_dims[i]);
  printf("\\n");
  for (i = 0; i < G_MODEL_OUTPUT0_RANK; i++) printf("%d ", out_dims[i]);
  printf("\\n%d %s\\n", G_MODEL_OP_COUNT, G_MODEL_OPS);
  return 0;
}
`;

describe('model_data.h for firmware and TFLite Micro projects', { skip: missingSharedModels(kws) }, () => {
  it('states the runtime arena, input/output shapes, scales, zero points and ops as compilable macros', async () => {
    const bytes = new Uint8Array(readFileSync(sharedModel(kws)));
    const it = await Runtime.load(bytes, { name: kws });
    const about = describeModel(bytes, it.arenaBytes);
    const dir = tempDir('quantbench-about-');
    const { header, source } = toCSource(bytes, { name: 'g_model', about });
    writeFileSync(path.join(dir, 'model_data.h'), header);
    writeFileSync(path.join(dir, 'model_data.c'), source);
    writeFileSync(path.join(dir, 'main.c'), printProgram);
    execFileSync(cc, ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', 'main.c', 'model_data.c', '-o', 'print'], { cwd: dir });
    const lines = execFileSync(path.join(dir, 'print'), { encoding: 'utf8' }).trim().split('\n');
    const [input, output] = [it.inputs[0], it.outputs[0]];
    assert.equal(lines[0], `${it.arenaBytes} 1 1 ${input.bytes} ${input.type}`);
    const [inScale, inZp, outScale, outZp] = lines[1].split(' ').map(Number);
    assert.equal(Math.fround(inScale), Math.fround(input.scale));
    assert.equal(inZp, input.zeroPoint);
    assert.equal(Math.fround(outScale), Math.fround(output.scale));
    assert.equal(outZp, output.zeroPoint);
    assert.equal(lines[2].trim(), input.shape.join(' '));
    assert.equal(lines[3].trim(), output.shape.join(' '));
    const ops = [...new Set(readTflite(bytes).subgraphs[0].operators.map((o) => o.op))];
    assert.equal(lines[4], `${ops.length} ${ops.join(' ')}`);
    it.dispose();
  });

  it('tflm_resolver.h sizes MicroMutableOpResolver to exactly the model ops and registers each once', () => {
    const bytes = new Uint8Array(readFileSync(sharedModel(kws)));
    const about = describeModel(bytes, 0);
    const text = tflmResolverHeader(about.ops, { name: 'g_model' });
    assert.match(text, new RegExp(`using GModelOpResolver = tflite::MicroMutableOpResolver<${about.ops.length}>;`));
    const calls = [...text.matchAll(/resolver\.(Add\w+)\(\) != kTfLiteOk/g)].map((m) => m[1]);
    assert.equal(calls.length, about.ops.length);
    assert.equal(new Set(calls).size, calls.length);
    assert.ok(about.ops.includes('CONV_2D') && calls.includes('AddConv2D'));
    assert.throws(() => tflmResolverHeader(['CONV_2D', 'GATHER'], { name: 'g_model' }), { code: 'TFLM_OP_UNKNOWN' });
  });
});
