import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatasetSpecError } from '../../core/data/errors';
import { formatDatasetSpec, parseDatasetSpec } from '../../core/data/spec';

describe('dataset spec strings', () => {
  const cases: [string, object][] = [
    ['fashion-mnist:test', { kind: 'fashion-mnist', split: 'test' }],
    [
      'fashion-mnist:train[0:1000]',
      { kind: 'fashion-mnist', split: 'train', slice: { start: 0, end: 1000 } },
    ],
    ['idx:/d/imgs.gz,/d/labels.gz', { kind: 'idx', images: '/d/imgs.gz', labels: '/d/labels.gz' }],
    ['npz:data/set.npz[500:]', { kind: 'npz', file: 'data/set.npz', slice: { start: 500 } }],
    ['npy:x.npy,y.npy', { kind: 'npy', x: 'x.npy', y: 'y.npy' }],
    ['csv:rows.csv', { kind: 'csv', file: 'rows.csv' }],
    ['csv:rows.csv#label=species', { kind: 'csv', file: 'rows.csv', label: 'species' }],
    [
      'folder:/photos/val[:64]',
      { kind: 'folder', dir: '/photos/val', slice: { start: 0, end: 64 } },
    ],
  ];
  for (const [text, expected] of cases) {
    it(`parses ${text} and formats it back`, () => {
      const spec = parseDatasetSpec(text);
      assert.deepEqual(spec, expected);
      assert.deepEqual(parseDatasetSpec(formatDatasetSpec(spec)), spec);
    });
  }

  const bad: [string, RegExp][] = [
    ['mnist', /not a dataset spec/],
    ['tfrecord:a.tfr', /unknown dataset kind "tfrecord"/],
    ['fashion-mnist:validation', /splits train and test/],
    ['idx:only-images.gz', /needs two files: idx:IMAGES,LABELS/],
    ['npy:x.npy', /needs two files: npy:X,Y/],
    ['csv:a.csv#label=', /#label= needs a column/],
    ['npz:', /nothing after "npz:"/],
    ['npz:a.npz[10:5]', /slice \[10:5\] is empty/],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${JSON.stringify(text)} with a hint`, () => {
      assert.throws(
        () => parseDatasetSpec(text),
        (e: unknown) => e instanceof DatasetSpecError && message.test(e.message) && !!e.hint,
      );
    });
  }
});
