import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { formatSeconds, progressReporter } from '../../core/cli/progress';

function stream(tty: boolean): PassThrough & { text: () => string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; text: () => string };
  let out = '';
  s.on('data', (d: Buffer) => (out += d.toString()));
  s.isTTY = tty;
  s.columns = 200;
  s.text = () => out;
  return s;
}

describe('the CLI progress reporter', () => {
  it('redraws one bar with the time left on a terminal and ends its line', async () => {
    const stderr = stream(true);
    let t = 0;
    const bar = progressReporter({ stderr, json: false }, { now: () => t });
    t = 10_000;
    bar.update(0.25, 'prune');
    bar.update(0.5, 'cluster');
    bar.done();
    await new Promise((r) => setImmediate(r));
    const text = stderr.text();
    const clear = '\x1b[K';
    assert.equal(
      text,
      `\r[${'#'.repeat(8)}${'.'.repeat(22)}]  25% prune 30s left${clear}` +
        `\r[${'#'.repeat(15)}${'.'.repeat(15)}]  50% cluster 10s left${clear}\n`,
    );
  });

  it('writes a plain line per tenth of the way, or after 30 s without one, on a pipe', async () => {
    const stderr = stream(false);
    let t = 0;
    const bar = progressReporter({ stderr, json: false }, { now: () => t });
    for (let i = 0; i <= 100; i++) bar.update(i / 100, 'x', null);
    t = 31_000;
    bar.update(1, 'still here', null);
    bar.done();
    await new Promise((r) => setImmediate(r));
    const lines = stderr.text().trimEnd().split('\n');
    assert.equal(lines.length, 12);
    assert.ok(lines.every((l) => !l.includes('\r')));
    assert.match(lines.at(-1)!, /100% still here$/);
  });

  it('writes nothing with --json', async () => {
    const stderr = stream(true);
    const bar = progressReporter({ stderr, json: true });
    bar.update(0.5, 'x', 3);
    bar.done();
    await new Promise((r) => setImmediate(r));
    assert.equal(stderr.text(), '');
  });

  it('formats durations in seconds, minutes and hours', () => {
    assert.equal(formatSeconds(42.4), '42s');
    assert.equal(formatSeconds(125), '2m05s');
    assert.equal(formatSeconds(7260), '2h01m');
  });
});
