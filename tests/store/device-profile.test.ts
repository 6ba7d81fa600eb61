import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { pushModel } from '../../core/device/push';
import { openDatabase } from '../../core/store/db';
import { DB_FILE_NAME, openStore, type DeviceProfile } from '../../core/store/index';
import { buildProtocolTarget } from '../device/firmware';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { recordFixtureModel } from './helpers/fixtures';

const run = promisify(execFile);
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'quantbench.mjs');
const kws = 'kws_ref_model.tflite';

function boardOf(store: ReturnType<typeof openStore>, clockHz = 1e9) {
  return store.recordBoard({ name: 'virtual', firmwareVersion: '0.1', port: '/dev/pts/9', cpu: 'x86_64', clockHz });
}

describe('device profile in the store', () => {
  it('migrates a schema-3 database: its device runs read back with no profile', () => {
    const dataDir = tempDir();
    const v3 = openDatabase(path.join(dataDir, DB_FILE_NAME), { targetVersion: 3 });
    v3.exec(`
      INSERT INTO models (id, hash, name, source_path, format, layer_summary, created_at)
        VALUES (1, 'abc', 'kws', '/m/kws.h5', 'h5', 'null', '2026-01-01T00:00:00.000Z');
      INSERT INTO runs (id, uuid, model_id, recipe, status, started_at, finished_at)
        VALUES (1, '11111111-2222-3333-4444-555555555555', 1, '{}', 'succeeded', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z');
      INSERT INTO boards (id, name, firmware_version, port, cpu, clock_hz, created_at)
        VALUES (1, 'virtual', '0.1', '/dev/pts/3', 'x86_64', 1000000000, '2026-01-01T00:00:00.000Z');
      INSERT INTO device_runs (id, uuid, run_id, board_id, status, arena_bytes, created_at)
        VALUES (1, 'aaaaaaaa-2222-3333-4444-555555555555', 1, 1, 'succeeded', 2100, '2026-01-01T00:00:03.000Z');
    `);
    v3.close();
    const store = openStore(dataDir);
    try {
      const [device] = store.getRun(1).deviceRuns;
      assert.equal(device!.arenaBytes, 2100);
      assert.equal(device!.profile, null);
    } finally {
      store.close();
    }
  });

  it('keeps a profile with its device run, deletes it with the run, and carries it through export and import', () => {
    const store = openStore(tempDir());
    const model = recordFixtureModel(store);
    const id = store.beginRun({ modelId: model.id, recipe: {} });
    store.finishRun(id, {});
    const board = boardOf(store, 25_000_000);
    const profile: DeviceProfile = {
      runs: 3,
      cpuHz: 25_000_000,
      invokeCycles: 1000,
      invokeUs: 40,
      profiledCycles: 1003,
      sumCycles: 1001,
      sumOverWhole: 1.001,
      ops: [
        { index: 0, op: 'CONV_2D', output: 'conv2d/Relu', cycles: 800, us: 32, share: 0, macs: 5000, outputOffset: 0, outputBytes: 4096 },
        { index: 1, op: 'RESHAPE', output: 'flatten/Reshape', cycles: 1, us: 0.04, share: 0, macs: 0, outputOffset: 4096, outputBytes: 4096 },
        { index: 2, op: 'FULLY_CONNECTED', output: 'dense/BiasAdd', cycles: 200, us: 8, share: 0, macs: 40960, outputOffset: 0, outputBytes: 10 },
      ],
    };
    const withProfile = store.recordDeviceRun({ runId: id, boardId: board.id, status: 'succeeded', profile });
    store.recordDeviceRun({ runId: id, boardId: board.id, status: 'failed', error: 'board reset' });
    const [stored, failed] = store.getRun(id).deviceRuns;
    assert.equal(stored!.id, withProfile);
    assert.deepEqual(
      stored!.profile,
      { ...profile, ops: profile.ops.map((o) => ({ ...o, share: o.cycles / 1001 })) },
      'shares are derived from the stored cycles',
    );
    assert.equal(failed!.profile, null);

    const file = path.join(tempDir(), 'runs.json');
    store.exportToFile(file);
    const other = openStore(tempDir());
    try {
      assert.equal(other.importFrom(file).deviceRunsAdded, 2);
      const [imported] = other.getRun(other.listRuns().runs[0]!.id).deviceRuns;
      assert.deepEqual(imported!.profile, stored!.profile);
    } finally {
      other.close();
    }
    store.deleteRun(id);
    const left = (store as unknown as { db: { prepare(sql: string): { get(): unknown } } }).db.prepare('SELECT COUNT(*) AS n FROM device_run_ops').get();
    assert.deepEqual(left, { n: 0 });
    store.close();
  });
});

describe('`quantbench runs show --json` with a profiled push', { skip: missingSharedModels(kws) }, () => {
  let board: LaunchedBoard;
  before(async () => {
    buildProtocolTarget('protocol');
    board = await startVirtualBoard();
  });
  after(async () => {
    await board?.stop();
  });

  it('shows the profile measured on the virtual board', async () => {
    const result = await pushModel({ port: board.port, model: sharedModel(kws), profile: true });
    const dataDir = tempDir();
    const store = openStore(dataDir);
    const model = recordFixtureModel(store, 'kws');
    const id = store.beginRun({ modelId: model.id, recipe: {} });
    store.finishRun(id, {});
    const b = store.recordBoard({ name: result.board.name, firmwareVersion: result.board.firmware, port: board.port, cpu: result.board.cpu, clockHz: result.board.cpuHz });
    store.recordDeviceRun({ runId: id, boardId: b.id, status: 'succeeded', arenaBytes: result.model.arenaBytes, profile: result.profile });
    store.close();

    const { stdout } = await run(process.execPath, [bin, 'runs', 'show', String(id), '--json', '--data-dir', dataDir]);
    const shown = JSON.parse(stdout) as { deviceRuns: Array<{ profile: DeviceProfile }> };
    const p = shown.deviceRuns[0]!.profile;
    assert.equal(p.ops.length, 13);
    assert.deepEqual(p.ops.map((o) => [o.op, o.output, o.cycles, o.outputOffset, o.outputBytes]), result.profile!.ops.map((o) => [o.op, o.output, o.cycles, o.outputOffset, o.outputBytes]));
    assert.equal(p.invokeCycles, result.profile!.invokeCycles);
    assert.equal(p.cpuHz, 1e9);
    assert.ok(Math.abs(p.sumOverWhole - 1) <= 0.05, `sum ${p.sumCycles} vs whole ${p.invokeCycles}`);
  });
});
