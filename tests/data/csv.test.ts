import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openCsv } from '../../core/data/csv';
import { tempDir } from '../helpers/tmp';

describe('CSV reader', () => {
  const dir = tempDir();

  it('uses the column named label by default and every other column as a feature', async () => {
    const file = path.join(dir, 'a.csv');
    writeFileSync(file, 'f1,label,"f 2"\n0.5,1,2\n1.5,0,-3\r\n\n2.5,2,4\n');
    const source = await openCsv(file);
    assert.deepEqual(source.sampleShape, [2]);
    assert.equal(source.count, 3);
    assert.equal(source.labelKind, 'class');
    const { x, y } = await source.read(0, 3);
    assert.deepEqual(Array.from(x), [0.5, 2, 1.5, -3, 2.5, 4]);
    assert.deepEqual(Array.from(y), [1, 0, 2]);
  });

  it('takes the label column by name or index, and the last column without a header', async () => {
    const named = path.join(dir, 'b.csv');
    writeFileSync(named, 'a,b,target\n1,2,0.25\n3,4,0.75\n');
    const byName = await openCsv(named, { label: 'a' });
    assert.deepEqual(Array.from((await byName.read(0, 2)).x), [2, 0.25, 4, 0.75]);
    const target = await openCsv(named, { label: '2' });
    assert.equal(target.labelKind, 'target');
    assert.deepEqual(Array.from((await target.read(0, 2)).y), [0.25, 0.75]);
    const bare = path.join(dir, 'c.csv');
    writeFileSync(bare, '1,2,3\n4,5,6\n');
    assert.deepEqual(Array.from((await (await openCsv(bare)).read(0, 2)).y), [3, 6]);
  });

  it('names the file, line and column of a bad value', async () => {
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, 'x,label\n1,0\nabc,1\n');
    await assert.rejects(openCsv(file), /bad\.csv line 3, column 1: not a number/);
    const ragged = path.join(dir, 'ragged.csv');
    writeFileSync(ragged, 'x,y,label\n1,2,0\n1,2\n');
    await assert.rejects(openCsv(ragged), /ragged\.csv line 3: 2 columns, expected 3/);
    await assert.rejects(
      openCsv(file, { label: 'nope' }),
      /bad\.csv has no column "nope" \(it has 2 columns with a header row\)/,
    );
  });

  it('never quotes the file in an error: a spec from the API must not read a file back', async () => {
    const file = path.join(dir, 'passwd');
    writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n');
    for (const label of ['zzz', undefined]) {
      const error = await openCsv(file, { label }).then(
        () => assert.fail('accepted'),
        (e: Error & { code?: string }) => e,
      );
      assert.equal(error.code, 'DATASET_INVALID');
      assert.match(error.message, /passwd/);
      assert.doesNotMatch(error.message, /root:|daemon|bin\/bash/);
    }
    const quoted = path.join(dir, 'quote.csv');
    writeFileSync(quoted, 'a,label\n"secret,1\n');
    const e = await openCsv(quoted).then(() => assert.fail('accepted'), (err: Error) => err);
    assert.doesNotMatch(e.message, /secret/);
  });

  it('reads quoted fields across lines, semicolon- and tab-separated files', async () => {
    const multi = path.join(dir, 'multi.csv');
    writeFileSync(multi, '"first\nfeature",label\n1.5,1\n"2.5",0\n');
    const m = await openCsv(multi);
    assert.equal(m.count, 2);
    assert.deepEqual(Array.from((await m.read(0, 2)).x), [1.5, 2.5]);
    const semi = path.join(dir, 'semi.csv');
    writeFileSync(semi, 'a;b;label\n1;2;0\n3;4;1\n');
    assert.deepEqual(Array.from((await (await openCsv(semi)).read(0, 2)).x), [1, 2, 3, 4]);
    const tab = path.join(dir, 'tab.tsv');
    writeFileSync(tab, 'a\tlabel\n7\t1\n8\t0\n');
    const t = await openCsv(tab);
    assert.deepEqual(Array.from((await t.read(0, 2)).y), [1, 0]);
  });
});
