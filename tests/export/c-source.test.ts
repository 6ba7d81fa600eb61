import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toCSource } from '../../core/export/c-source';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';

const cc = process.env.CC ?? 'cc';
const missingCc = (() => {
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return `no C compiler (${cc})`;
  }
})();

const missingArmGcc = (() => {
  try {
    execFileSync('arm-none-eabi-gcc', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'arm-none-eabi-gcc not installed (apt-get install gcc-arm-none-eabi)';
  }
})();

/** A program that writes the array back out and checks its alignment, so the test compares bytes. */
const dumpProgram = `
#include <stdio.h>
#include <stdint.h>
#include "model_data.h"
int main(int argc, char **argv) {
  FILE *out;
  if (argc != 2) return 2;
  if (((uintptr_t)g_model) % 16 != 0) return 3;
  out = fopen(argv[1], "wb");
  if (!out) return 4;
  if (fwrite(g_model, 1, g_model_len, out) != g_model_len) return 5;
  return fclose(out) == 0 ? 0 : 6;
}
`;

function compileAndDump(bytes: Uint8Array): Uint8Array {
  const dir = tempDir('quantbench-csource-');
  const { header, source } = toCSource(bytes, { name: 'g_model' });
  writeFileSync(path.join(dir, 'model_data.h'), header);
  writeFileSync(path.join(dir, 'model_data.c'), source);
  writeFileSync(path.join(dir, 'main.c'), dumpProgram);
  const flags = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic'];
  execFileSync(cc, [...flags, '-c', 'model_data.c', '-o', 'model_data.o'], { cwd: dir });
  execFileSync(cc, [...flags, 'main.c', 'model_data.o', '-o', 'dump'], { cwd: dir });
  execFileSync(path.join(dir, 'dump'), [path.join(dir, 'out.bin')]);
  return new Uint8Array(readFileSync(path.join(dir, 'out.bin')));
}

describe('toCSource', () => {
  it('declares a const array and its length behind an include guard', () => {
    const { header, source } = toCSource(Uint8Array.from([0x54, 0x46, 0x4c, 0x33]), {
      name: 'g_model',
    });
    assert.match(header, /#ifndef MODEL_DATA_H_\n#define MODEL_DATA_H_/);
    assert.match(header, /extern const unsigned char g_model\[\];/);
    assert.match(header, /extern const unsigned int g_model_len;/);
    assert.match(source, /#include "model_data\.h"/);
    assert.match(
      source,
      /QB_MODEL_ALIGN const unsigned char g_model\[\] = \{\n {2}0x54, 0x46, 0x4c, 0x33,\n\};/,
    );
    assert.match(source, /const unsigned int g_model_len = 4u;/);
  });

  it('rejects names that are not C identifiers', () => {
    for (const name of ['1model', 'my-model', 'int', '']) {
      assert.throws(() => toCSource(new Uint8Array(1), { name }), { code: 'C_SOURCE_NAME' });
    }
  });

  it(
    'compiles with -std=c99 -Wall -Wextra -Werror and gives back the same bytes, 16-byte aligned',
    { skip: missingCc },
    () => {
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131 + 7) & 0xff);
      assert.deepEqual(compileAndDump(bytes), bytes);
      assert.deepEqual(compileAndDump(new Uint8Array(0)), new Uint8Array(0));
    },
  );

  it(
    'round-trips a real converter model through the compiler',
    { skip: missingCc || missingSharedModels('kws_ref_model.tflite') },
    () => {
      const bytes = new Uint8Array(readFileSync(sharedModel('kws_ref_model.tflite')));
      assert.deepEqual(compileAndDump(bytes), bytes);
    },
  );

  it(
    'compiles for the Cortex-M4 board with arm-none-eabi-gcc and keeps the array 16-byte aligned in .rodata',
    { skip: missingArmGcc },
    () => {
      const dir = tempDir('quantbench-csource-arm-');
      const { header, source } = toCSource(
        Uint8Array.from({ length: 333 }, (_, i) => i & 0xff),
        { name: 'g_model' },
      );
      writeFileSync(path.join(dir, 'model_data.h'), header);
      writeFileSync(path.join(dir, 'model_data.c'), source);
      execFileSync(
        'arm-none-eabi-gcc',
        [
          '-mcpu=cortex-m4',
          '-mthumb',
          '-std=c99',
          '-Wall',
          '-Wextra',
          '-Werror',
          '-pedantic',
          '-c',
          'model_data.c',
          '-o',
          'model_data.o',
        ],
        { cwd: dir },
      );
      const symbols = execFileSync('arm-none-eabi-readelf', ['-s', '-S', 'model_data.o'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.match(symbols, /OBJECT\s+GLOBAL\s+DEFAULT\s+\d+ g_model\b/);
      // Section alignment is the last column of the .rodata line.
      const rodata = symbols.split('\n').find((l) => /\.rodata\b/.test(l) && !/\.rel/.test(l));
      assert.ok(rodata, symbols);
      assert.equal(Number(rodata.trim().split(/\s+/).pop()), 16);
    },
  );
});
