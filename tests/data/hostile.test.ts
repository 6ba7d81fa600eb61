import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { gzipSync } from 'node:zlib';
import { openCsv } from '../../core/data/csv';
import { readIdx } from '../../core/data/idx';
import { openNpy, parseNpy } from '../../core/data/npy';
import { openNpz } from '../../core/data/npz';
import { QuantbenchError } from '../../core/errors';
import { tempDir } from '../helpers/tmp';
import { npyBytes } from './write-arrays';

const dir = tempDir();

async function rejection(promise: Promise<unknown>): Promise<QuantbenchError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof QuantbenchError, `not a QuantbenchError: ${String(error)}`);
    return error;
  }
  assert.fail('the file was accepted');
}

describe('dataset files that lie about themselves', () => {
  it('refuses an .npy shape with a negative or non-integer dimension as DATASET_INVALID', () => {
    for (const shape of ['(-3, 2)', '(2, 1.5)', '(abc,)']) {
      const bytes = npyBytes('<f4', [2, 2], [1, 2, 3, 4]);
      const text = bytes.toString('latin1').replace('(2, 2)', shape.padEnd(6, ' '));
      const error = (() => {
        try {
          parseNpy(Buffer.from(text, 'latin1'), 'neg.npy');
        } catch (e) {
          return e as QuantbenchError;
        }
        return assert.fail(`shape ${shape} accepted`);
      })();
      assert.ok(error instanceof QuantbenchError, `${shape}: ${String(error)}`);
      assert.equal(error.code, 'DATASET_INVALID');
      assert.match(error.message, /neg\.npy: .npy header has a shape/);
    }
  });

  it('refuses an .npz zip bomb before inflating it', async () => {
    const file = path.join(dir, 'bomb.npz');
    const zeros = new Uint8Array(200 * 1024 * 1024);
    writeFileSync(file, zipSync({ 'x.npy': [zeros, { level: 9 }], 'y.npy': npyBytes('<i4', [1], [0]) }));
    const error = await rejection(openNpz(file));
    assert.equal(error.code, 'DATASET_INVALID');
    assert.match(error.message, /bomb\.npz: its entries declare \d+ bytes uncompressed/);
  });

  it('refuses a gzip bomb posing as an IDX file', async () => {
    const file = path.join(dir, 'bomb-images-idx3-ubyte.gz');
    writeFileSync(file, gzipSync(new Uint8Array(200 * 1024 * 1024), { level: 9 }));
    const error = await rejection(readIdx(file));
    assert.equal(error.code, 'DATASET_INVALID');
    assert.match(error.message, /expands beyond the size limit/);
  });

  it('refuses an .npz member whose CRC-32 does not match', async () => {
    const file = path.join(dir, 'crc.npz');
    const bytes = zipSync({ 'x.npy': npyBytes('<f4', [2, 1], [1, 2]), 'y.npy': npyBytes('<i4', [2], [0, 1]) }, { level: 6 });
    const view = new DataView(bytes.buffer);
    for (let i = 0; i + 4 <= bytes.length; i++) {
      if (view.getUint32(i, true) === 0x04034b50) bytes[i + 14]! ^= 0xff;
      if (view.getUint32(i, true) === 0x02014b50) bytes[i + 16]! ^= 0xff;
    }
    writeFileSync(file, bytes);
    const error = await rejection(openNpz(file));
    assert.match(error.message, /crc\.npz: entry "x\.npy" fails its CRC-32 check/);
  });

  it('refuses FIFOs and directories as dataset files, without blocking', { timeout: 20_000 }, async () => {
    const fifo = path.join(dir, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    const csv = await rejection(openCsv(fifo));
    assert.equal(csv.code, 'DATASET_INVALID');
    assert.match(csv.message, /pipe\.csv: is a named pipe/);
    const npy = await rejection(openNpy(fifo, fifo));
    assert.match(npy.message, /named pipe/);
    const folder = await rejection(openNpz(dir));
    assert.match(folder.message, /is a directory/);
  });
});
