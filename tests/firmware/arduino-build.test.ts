import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp';
import { buildDir, make, missingTool } from './firmware-build';

/**
 * The Arduino library and both example sketches, compiled and linked as arduino-cli would
 * for an Arduino Nano 33 BLE (nRF52840, Cortex-M4F at 64 MHz), against the minimal
 * Arduino API in arduino-core/ (the board core itself cannot be installed here). The link
 * uses the board's memory map, so a sketch that outgrows its 256 KB of RAM fails here.
 */
const core = path.join(path.dirname(new URL(import.meta.url).pathname), 'arduino-core');
const library = path.join(buildDir, 'arduino', 'Quantbench');
const flags = [
  '-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=softfp', '-mfpu=fpv4-sp-d16', '-Os', '-g',
  '-ffunction-sections', '-fdata-sections',
  '-DARDUINO=10819', '-DARDUINO_ARDUINO_NANO33BLE', '-DARDUINO_ARCH_MBED', '-DF_CPU=64000000',
  '-Wall', '-Wextra', '-Werror',
];

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(-3).join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Compiles the library once into objects the sketches link against. */
function buildLibrary(out: string): string[] {
  const src = path.join(library, 'src');
  return readdirSync(src)
    .filter((f) => f.endsWith('.c'))
    .map((f) => {
      const obj = path.join(out, f.replace(/\.c$/, '.o'));
      run('arm-none-eabi-gcc', [...flags, '-std=gnu11', `-I${src}`, `-I${core}`, '-c', path.join(src, f), '-o', obj]);
      return obj;
    });
}

/** What arduino-cli does to a sketch: prepend the Arduino header, compile as C++, link. */
function buildSketch(name: string, libObjects: string[], out: string): { elf: string; text: number; data: number; bss: number } {
  const dir = path.join(library, 'examples', name);
  const cpp = path.join(out, `${name}.ino.cpp`);
  writeFileSync(cpp, `#include <Arduino.h>\n#line 1 "${name}.ino"\n${readFileSync(path.join(dir, `${name}.ino`), 'utf8')}`);
  const elf = path.join(out, `${name}.elf`);
  const cxx = [...flags, '-std=gnu++17', '-fno-exceptions', '-fno-rtti', `-I${path.join(library, 'src')}`, `-I${core}`, `-I${dir}`];
  run('arm-none-eabi-g++', [
    ...cxx, cpp, path.join(core, 'core.cpp'), ...libObjects,
    '-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs', '-Wl,--gc-sections', '-T', path.join(core, 'nrf52840.ld'), '-o', elf,
  ]);
  const size = run('arm-none-eabi-size', [elf]).trim().split('\n')[1]!.trim().split(/\s+/).map(Number);
  return { elf, text: size[0]!, data: size[1]!, bss: size[2]! };
}

describe('Arduino library for the Nano 33 BLE (nRF52840)', { skip: missingTool('arm-none-eabi-gcc', 'arm-none-eabi-g++') }, () => {
  const out = tempDir('qb-arduino-');
  let libObjects: string[] = [];
  before(() => {
    make(['protocol-arduino']);
    libObjects = buildLibrary(out);
  });

  it('compiles every library source with the board flags and warnings as errors', () => {
    assert.ok(libObjects.length >= 15, `${libObjects.length} objects`);
    assert.ok(libObjects.some((o) => o.endsWith('qb_board.o')));
  });

  it('links the bench-firmware sketch (QuantbenchBoard) into an image that fits the board', (t) => {
    const s = buildSketch('QuantbenchBoard', libObjects, out);
    t.diagnostic(`QuantbenchBoard: text ${s.text}, data ${s.data}, bss ${s.bss} bytes`);
    // Model storage (128 KB) and arena (96 KB) are static: RAM holds them with room for the stack.
    assert.ok(s.bss + s.data >= 224 * 1024, JSON.stringify(s));
    assert.ok(s.bss + s.data + 8 * 1024 <= 256 * 1024, JSON.stringify(s));
    assert.ok(s.text < 960 * 1024, JSON.stringify(s));
  });

  it('links the standalone benchmark sketch (QuantbenchBench)', (t) => {
    const s = buildSketch('QuantbenchBench', libObjects, out);
    t.diagnostic(`QuantbenchBench: text ${s.text}, data ${s.data}, bss ${s.bss} bytes`);
    assert.ok(s.text > 10 * 1024, JSON.stringify(s)); // the runtime is in it, not dropped
  });

  it('is the library layout arduino-cli expects', () => {
    const props = readFileSync(path.join(library, 'library.properties'), 'utf8');
    assert.match(props, /^name=Quantbench$/m);
    assert.match(props, /^includes=Quantbench\.h$/m);
    assert.ok(readdirSync(path.join(library, 'src')).includes('Quantbench.h'));
  });
});
