import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Board } from '../../core/device/board';
import { readElf } from '../../core/device/gdb/elf';
import { FirmwareImageError, GdbError } from '../../core/device/gdb/errors';
import { flashImage, gdbCrc32, parseMemoryMap } from '../../core/device/gdb/flash';
import { parseAddress } from '../../core/device/gdb/rsp';
import { qemuMachines, startQemuBoard, startVirtualBoard, type LaunchedBoard, type QemuMachine } from '../../core/device/launch';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { buildFirmwareTargets, buildProtocolTarget, freeTcpPort, missingQemuTools } from './firmware';


describe('firmware images and the GDB loader, offline', () => {
  it('reads the loadable segments of an ELF at their load addresses', { skip: missingQemuTools() }, () => {
    buildFirmwareTargets('stm32f4-nucleo-f446re');
    const image = readElf(qemuMachines.netduinoplus2.image);
    assert.equal(image.machine, 40);
    // .text at the start of flash, and the .data copy placed after it in flash (not at
    // its RAM address), as a debugger's load must write them.
    assert.equal(image.segments[0]!.address, 0x08000000);
    for (const s of image.segments) assert.ok(s.address >= 0x08000000 && s.address < 0x08080000, s.address.toString(16));
  });

  it('refuses what is not a 32-bit little-endian ARM executable, naming the file', () => {
    const dir = tempDir();
    const notElf = path.join(dir, 'model.tflite');
    writeFileSync(notElf, 'TFL3 not an image');
    assert.throws(() => readElf(notElf), (e: unknown) => e instanceof FirmwareImageError && e.code === 'FIRMWARE_NOT_ELF' && e.message.includes(notElf));
    const elf64 = path.join(dir, 'host.elf');
    writeFileSync(elf64, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(60)]));
    assert.throws(() => readElf(elf64), /64-bit/);
  });

  it('parses a flash memory map as OpenOCD serves it', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE memory-map PUBLIC "+//IDN gnu.org//DTD GDB Memory Map V1.0//EN" "http://sourceware.org/gdb/gdb-memory-map.dtd">
<memory-map><memory type="flash" start="0x08000000" length="0x10000"><property name="blocksize">0x4000</property></memory>
<memory type="flash" start="0x08010000" length="0x10000"><property name="blocksize">0x10000</property></memory>
<memory type="ram" start="0x20000000" length="0x20000"/></memory-map>`;
    assert.deepEqual(parseMemoryMap(xml), [
      { type: 'flash', start: 0x08000000, length: 0x10000, blockSize: 0x4000 },
      { type: 'flash', start: 0x08010000, length: 0x10000, blockSize: 0x10000 },
      { type: 'ram', start: 0x20000000, length: 0x20000, blockSize: undefined },
    ]);
  });

  it('computes the CRC qCRC answers with, and checks server addresses', () => {
    // CRC-32/MPEG-2 (gdb's xcrc32) check value
    assert.equal(gdbCrc32(Buffer.from('123456789')), 0x0376e6e7);
    assert.deepEqual(parseAddress('localhost:3333'), { host: 'localhost', port: 3333 });
    assert.deepEqual(parseAddress('1234'), { host: '127.0.0.1', port: 1234 });
    assert.throws(() => parseAddress('localhost'), (e: unknown) => e instanceof GdbError && e.code === 'GDB_BAD_ADDRESS');
  });
});

interface Case {
  machine: QemuMachine;
  target: string;
  name: string;
  cpu: string;
  cpuHz: number;
  resetCommand?: string;
}

const cases: Case[] = [
  { machine: 'netduinoplus2', target: 'stm32f4-nucleo-f446re', name: 'nucleo-f446re', cpu: 'cortex-m4', cpuHz: 168_000_000 },
  { machine: 'mps2-an386', target: 'mps2', name: 'mps2-an386', cpu: 'cortex-m4', cpuHz: 25_000_000 },
  // QEMU's own monitor reset: the core then starts from the vector table it loads itself.
  { machine: 'mps3-an547', target: 'm55', name: 'mps3-an547', cpu: 'cortex-m55', cpuHz: 32_000_000, resetCommand: 'system_reset' },
];

function seededBytes(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
}

const kws = 'kws_ref_model.tflite';

describe('boards flashed through QEMU gdbstub (no -kernel)', { skip: missingQemuTools() || missingSharedModels(kws) }, () => {
  const launched: LaunchedBoard[] = [];
  const boards: Board[] = [];
  let reference: Board;
  before(async () => {
    buildProtocolTarget('protocol');
    buildFirmwareTargets(...cases.map((c) => c.target));
    const virtual = await startVirtualBoard();
    launched.push(virtual);
    reference = await Board.connect(virtual.port);
    boards.push(reference);
    await reference.upload(new Uint8Array(readFileSync(sharedModel(kws))));
  });
  after(async () => {
    for (const b of boards) await b.close();
    for (const l of launched) await l.stop();
  });

  for (const c of cases) {
    it(`loads, verifies and starts the ${c.name} image, which then passes hello, upload, invoke and bench`, async (t) => {
      const gdbPort = await freeTcpPort();
      // Each board stops at the end of its test: an idle image spins at 100% of a core.
      const qemu = await startQemuBoard({ machine: c.machine, gdbPort });
      launched.push(qemu);
      t.after(() => qemu.stop());
      const phases = new Set<string>();
      const flashed = await flashImage(qemuMachines[c.machine].image, { gdb: `127.0.0.1:${gdbPort}`, resetCommand: c.resetCommand, onProgress: (p) => phases.add(p.phase) });
      assert.equal(flashed.verifiedBy, 'read-back');
      assert.equal(flashed.start, c.resetCommand ? 'monitor' : 'vector-table');
      assert.deepEqual([...phases].sort(), ['verify', 'write']);
      assert.equal(flashed.bytes, readElf(qemuMachines[c.machine].image).segments.reduce((n, s) => n + s.data.length, 0));

      const board = await Board.connect(qemu.port);
      t.after(() => board.close());
      assert.equal(board.hello!.name, c.name);
      assert.equal(board.hello!.cpu, c.cpu);
      assert.equal(board.hello!.cpuHz, c.cpuHz);
      assert.ok(board.hello!.hasRuntime);

      const model = new Uint8Array(readFileSync(sharedModel(kws)));
      const upload = await board.upload(model);
      assert.ok(upload.fits);
      const info = await board.modelInfo();
      for (const seed of [1, 2]) {
        const input = seededBytes(info.inputs[0]!.bytes, seed);
        await board.setInput(0, input);
        await reference.setInput(0, input);
        assert.deepEqual((await board.invoke()).outputs, (await reference.invoke()).outputs, `outputs differ for seed ${seed}`);
      }
      const bench = await board.benchmark(3, 1);
      assert.equal(bench.runs, 3);
      assert.ok(bench.cycles.median > 0);
    });
  }

  it('stops with a clear error when the image does not fit the target memory', async (t) => {
    const gdbPort = await freeTcpPort();
    const qemu = await startQemuBoard({ machine: 'mps3-an547', gdbPort });
    launched.push(qemu);
    t.after(() => qemu.stop());
    // The STM32 image is linked for flash at 0x08000000, where the AN547 has nothing.
    await assert.rejects(
      flashImage(qemuMachines.netduinoplus2.image, { gdb: `127.0.0.1:${gdbPort}` }),
      (e: unknown) => e instanceof GdbError && /0x8000000|0x08000000/.test(e.message) && e.message.includes(`127.0.0.1:${gdbPort}`),
    );
  });
});
