import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { openNpy, readNpy } from '../../core/data/npy';
import { openNpz } from '../../core/data/npz';
import { tempDir } from '../helpers/tmp';
import { npyBytes } from './write-arrays';

describe('NPY and NPZ readers', () => {
  const dir = tempDir();
  const x = Array.from({ length: 4 * 2 * 3 }, (_, i) => i / 8 - 1);
  const y = [2, 0, 1, 2];

  it('pairs a float32 x with integer class labels', async () => {
    writeFileSync(path.join(dir, 'x.npy'), npyBytes('<f4', [4, 2, 3], x));
    writeFileSync(path.join(dir, 'y.npy'), npyBytes('<i8', [4], y));
    const source = await openNpy(path.join(dir, 'x.npy'), path.join(dir, 'y.npy'));
    assert.deepEqual(source.sampleShape, [2, 3]);
    assert.equal(source.labelKind, 'class');
    const batch = await source.read(2, 2);
    assert.deepEqual(Array.from(batch.x), x.slice(12, 24));
    assert.deepEqual(Array.from(batch.y), [1, 2]);
  });

  it('reads big-endian float64 and uint8 arrays, and float y as regression targets', async () => {
    writeFileSync(path.join(dir, 'xb.npy'), npyBytes('>f8', [4, 6], x));
    writeFileSync(
      path.join(dir, 'xu.npy'),
      npyBytes(
        '|u1',
        [4, 6],
        x.map((_, i) => i * 10),
      ),
    );
    writeFileSync(
      path.join(dir, 'yf.npy'),
      npyBytes('<f4', [4, 2], [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]),
    );
    const big = await openNpy(path.join(dir, 'xb.npy'), path.join(dir, 'yf.npy'));
    assert.equal(big.labelKind, 'target');
    assert.deepEqual(big.labelShape, [2]);
    const b = await big.read(0, 4);
    assert.deepEqual(
      Array.from(b.x),
      x.map((v) => Math.fround(v)),
    );
    assert.deepEqual(Array.from(b.y), [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
    const u = await (await openNpy(path.join(dir, 'xu.npy'), path.join(dir, 'yf.npy'))).read(3, 1);
    assert.deepEqual(Array.from(u.x), [180, 190, 200, 210, 220, 230]);
  });

  it('reports Fortran order, odd dtypes and truncation with the file name', async () => {
    const fortran = path.join(dir, 'f.npy');
    writeFileSync(
      fortran,
      Buffer.from(
        npyBytes('<f4', [2, 2], [1, 2, 3, 4])
          .toString('latin1')
          .replace("'fortran_order': False", "'fortran_order': True "),
        'latin1',
      ),
    );
    await assert.rejects(readNpy(fortran), /f\.npy: Fortran-ordered arrays are not supported/);
    const complex = path.join(dir, 'c.npy');
    writeFileSync(
      complex,
      Buffer.from(
        npyBytes('<f4', [2], [1, 2]).toString('latin1').replace("'<f4'", "'<c8'"),
        'latin1',
      ),
    );
    await assert.rejects(readNpy(complex), /c\.npy: unsupported \.npy dtype "<c8"/);
    const short = path.join(dir, 's.npy');
    writeFileSync(short, npyBytes('<f4', [100], new Array(100).fill(1)).subarray(0, 200));
    await assert.rejects(readNpy(short), /s\.npy: header says shape \(100\)/);
    const junk = path.join(dir, 'junk.npy');
    writeFileSync(junk, 'not numpy');
    await assert.rejects(readNpy(junk), /junk\.npy is not a \.npy file/);
  });

  it('reads x and y from an .npz zip, stored or deflated', async () => {
    for (const level of [0, 6] as const) {
      const file = path.join(dir, `d${level}.npz`);
      writeFileSync(
        file,
        zipSync(
          { 'x.npy': npyBytes('<f4', [4, 2, 3], x), 'y.npy': npyBytes('<i4', [4], y) },
          { level },
        ),
      );
      const source = await openNpz(file);
      assert.deepEqual(source.sampleShape, [2, 3]);
      const batch = await source.read(0, 4);
      assert.deepEqual(Array.from(batch.y), y);
      assert.equal(batch.x[23], Math.fround(x[23]!));
    }
  });

  it('says which arrays an .npz holds when x and y cannot be told apart', async () => {
    const file = path.join(dir, 'odd.npz');
    writeFileSync(
      file,
      zipSync({
        'features.npy': npyBytes('<f4', [1], [1]),
        'answers.npy': npyBytes('<f4', [1], [1]),
      }),
    );
    await assert.rejects(openNpz(file), /odd\.npz holds arrays \[features, answers\]/);
    const notZip = path.join(dir, 'nozip.npz');
    writeFileSync(notZip, 'plain text');
    await assert.rejects(openNpz(notZip), /nozip\.npz is not a readable \.npz/);
  });
});
