import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { openStore } from '../../core/store/index';
import { tempDir } from '../helpers/tmp';
import { layers, recordFixtureModel } from './helpers/fixtures';

const bin = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'bin',
  'quantbench.mjs',
);
const skip = existsSync(bin) ? false : `the CLI entry point ${bin} is not there yet`;
const execFileAsync = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `quantbench runs …` as a separate process, through bin/quantbench.mjs. */
async function spawnCli(dataDir: string, ...args: string[]): Promise<CliResult> {
  try {
    const argv = [bin, 'runs', ...args, '--data-dir', dataDir];
    const { stdout, stderr } = await execFileAsync(process.execPath, argv);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The same entry point called in this process: every command module loads once instead of
 * once per call, which keeps the many calls below fast. A few calls above go through a real
 * child process to cover the binary, exit codes and stdout discipline.
 */
async function cli(dataDir: string, ...args: string[]): Promise<CliResult> {
  const { main } = await import('../../core/cli/main');
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await main(['runs', ...args, '--data-dir', dataDir], {
    stdout: sink((s) => (stdout += s)) as unknown as NodeJS.WriteStream,
    stderr: sink((s) => (stderr += s)) as unknown as NodeJS.WriteStream,
  });
  return { code, stdout, stderr };
}

async function cliJson<T>(dataDir: string, ...args: string[]): Promise<T> {
  const r = await cli(dataDir, ...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

let dataDir: string;
const ids: number[] = [];

before(() => {
  dataDir = tempDir();
  const store = openStore(dataDir);
  const model = recordFixtureModel(store);
  const board = store.recordBoard({ name: 'host', firmwareVersion: '0.1.0', port: '/dev/pts/7' });
  for (let i = 0; i < 5; i++) {
    const id = store.beginRun({
      modelId: model.id,
      recipe: { prune: { sparsity: i / 5 } },
      recipeName: `p${i}`,
      tags: i % 2 ? ['odd'] : [],
    });
    store.finishRun(id, {
      metrics: { floatAccuracy: 0.9, int8Accuracy: 0.8 + i / 100 },
      sizes: { tfliteBytes: 1000 - i * 100 + (i === 2 ? 500 : 0) },
      layers: layers(3, i),
      artifacts: [{ role: 'tflite', bytes: Buffer.from(`model ${i}`) }],
    });
    store.recordDeviceRun({
      runId: id,
      boardId: board.id,
      status: 'succeeded',
      latencyUs: { min: 1, median: 50 + i, p95: 60, max: 70 },
    });
    ids.push(id);
  }
  store.close();
});

describe('quantbench runs through bin/quantbench.mjs', { skip }, () => {
  it('prints exactly one JSON document on stdout with --json and a table without', async () => {
    const json = await spawnCli(dataDir, 'list', '--status', 'succeeded', '--json');
    assert.equal(json.code, 0, json.stderr);
    const page = JSON.parse(json.stdout) as { total: number; runs: unknown[] };
    assert.deepEqual([page.total, page.runs.length], [5, 5]);
    const text = await spawnCli(dataDir, 'show', String(ids[0]));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Run \d+ {2}[0-9a-f-]{36}\n/);
    assert.match(text.stdout, /\nLayers\nNAME\s+TYPE\s+POLICY/);
  });

  it('exits 1 with the error as JSON on stdout and in words on stderr for a missing run', async () => {
    const missing = await spawnCli(dataDir, 'show', '404', '--json');
    assert.equal(missing.code, 1);
    const body = JSON.parse(missing.stdout) as { error: { code: string; hint: string } };
    assert.equal(body.error.code, 'STORE_RUN_NOT_FOUND');
    assert.ok(body.error.hint);
    assert.match(missing.stderr, /No run "404"/);
  });
});

describe('quantbench runs', { skip }, () => {
  it('lists with filters, sort and paging as one JSON document, or as a table', async () => {
    const page = await cliJson<{ total: number; runs: Array<{ id: number }> }>(
      dataDir,
      'list',
      '--tag',
      'odd',
      '--sort',
      'int8-accuracy',
      '--asc',
      '--limit',
      '1',
    );
    assert.equal(page.total, 2);
    assert.deepEqual(
      page.runs.map((r) => r.id),
      [ids[1]],
    );
    const ranged = await cliJson<{ total: number }>(
      dataDir,
      'list',
      '--min-int8-accuracy',
      '0.825',
      '--max-tflite-bytes',
      '650',
    );
    assert.equal(ranged.total, 1);
    const text = await cli(dataDir, 'list', '--board', 'host');
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ID\s+MODEL\s+RECIPE\s+STATUS\s+INT8 ACC/);
    assert.match(text.stdout, /1-5 of 5 runs/);
  });

  it('shows, compares and finds the Pareto front', async () => {
    const show = await cliJson<{
      uuid: string;
      layers: unknown[];
      artifacts: unknown[];
      deviceRuns: unknown[];
    }>(dataDir, 'show', String(ids[0]));
    assert.deepEqual(
      [show.layers.length, show.artifacts.length, show.deviceRuns.length],
      [3, 1, 1],
    );
    const byUuid = await cliJson<{ uuid: string }>(dataDir, 'show', show.uuid.slice(0, 8));
    assert.equal(byUuid.uuid, show.uuid);
    const cmp = await cliJson<{ runs: unknown[]; recipeDifferences: Array<{ path: string }> }>(
      dataDir,
      'compare',
      String(ids[0]),
      String(ids[4]),
    );
    assert.equal(cmp.runs.length, 2);
    assert.deepEqual(
      cmp.recipeDifferences.map((d) => d.path),
      ['$.prune.sparsity'],
    );
    const front = await cliJson<{ front: Array<{ run: { id: number } }> }>(
      dataDir,
      'pareto',
      '--cost',
      'tflite',
    );
    assert.deepEqual(
      front.front.map((p) => p.run.id),
      [ids[4]],
    );
    const latency = await cliJson<{ front: Array<{ run: { id: number }; cost: number }> }>(
      dataDir,
      'pareto',
      '--cost',
      'latency',
      '--board',
      'host',
    );
    assert.deepEqual(
      latency.front.map((p) => p.cost),
      [50, 51, 52, 53, 54],
    );
  });

  it('exports a bundle another data directory imports once, then tags, notes and deletes', async () => {
    const bundle = path.join(tempDir(), 'runs.qbx');
    const exported = await cliJson<{ runs: number; artifacts: number }>(dataDir, 'export', bundle);
    assert.deepEqual([exported.runs, exported.artifacts], [5, 5]);
    const other = tempDir();
    assert.equal((await cliJson<{ runsAdded: number }>(other, 'import', bundle)).runsAdded, 5);
    assert.equal(
      (await cliJson<{ runsSkipped: number; runsAdded: number }>(other, 'import', bundle))
        .runsAdded,
      0,
    );

    assert.deepEqual((await cliJson<{ tags: string[] }>(other, 'tag', '1', 'keep', 'm4')).tags, [
      'keep',
      'm4',
    ]);
    assert.equal(
      (await cliJson<{ notes: string }>(other, 'note', '1', 'fits', 'the', 'M4')).notes,
      'fits the M4',
    );
    const removed = await cliJson<{ removedArtifacts: string[] }>(other, 'rm', '2');
    assert.equal(removed.removedArtifacts.length, 1);
    assert.equal((await cliJson<{ total: number }>(other, 'list')).total, 4);
  });

  it('exits 2 for bad usage, naming what was wrong', async () => {
    const usage = await cli(dataDir, 'frobnicate');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown subcommand "runs frobnicate"/);
    const badSort = await cli(dataDir, 'list', '--sort', 'colour');
    assert.equal(badSort.code, 2);
    assert.match(badSort.stderr, /--sort colour is not a sort key/);
  });
});
