import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance, nearest, parseArgs, UsageError } from '../../core/cli/args';

const spec = { values: ['data', 'limit', 'input-offset'], flags: ['json', 'reconstruction'] };

describe('strict option parsing', () => {
  it('reads values in both spellings, flags and positionals', () => {
    const r = parseArgs(['m.keras', '--data', 'a', '--limit=5', '--json', '--', '--not-an-option'], spec, 'test');
    assert.deepEqual(r.positionals, ['m.keras', '--not-an-option']);
    assert.deepEqual(r.options, { data: 'a', limit: '5', json: true });
  });

  it('gives a value option the next argument even when it starts with a dash', () => {
    assert.equal(parseArgs(['--input-offset', '-1'], spec, 'test').options['input-offset'], '-1');
  });

  it('rejects an unknown option and names the nearest known one', () => {
    assert.throws(() => parseArgs(['--limt', '5'], spec, 'test'), (e: unknown) =>
      e instanceof UsageError && /unknown option --limt; did you mean --limit\?/.test(e.message),
    );
    assert.throws(() => parseArgs(['--jsn'], spec, 'test'), /did you mean --json\?/);
  });

  it('lists every option when none is near, and follows declared synonyms first', () => {
    assert.throws(() => parseArgs(['--frobnicate'], spec, 'quantbench x'), /the options of quantbench x are --data, --limit, --input-offset, --json, --reconstruction/);
    assert.throws(() => parseArgs(['--samples', '3'], { ...spec, synonyms: { samples: 'limit' } }, 'test'), /did you mean --limit\?/);
  });

  it('rejects a flag given a value, a value option without one and single-dash options', () => {
    assert.throws(() => parseArgs(['--json=yes'], spec, 'test'), /--json is a flag/);
    assert.throws(() => parseArgs(['--data'], spec, 'test'), /--data needs a value/);
    assert.throws(() => parseArgs(['-x'], spec, 'test'), /unknown option -x/);
  });

  it('measures edits with adjacent swaps as one', () => {
    assert.equal(editDistance('limt', 'limit'), 1);
    assert.equal(editDistance('jsno', 'json'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(nearest('compres', ['compress', 'eval']), 'compress');
    assert.equal(nearest('zzzzzz', ['compress', 'eval']), undefined);
  });
});
