// The desktop package, built and run as a user gets it, without the Electron binary (which
// CI cannot download): `npm run dist -- --dir` against a stand-in Electron distribution, then
// the packaged main process under Node with a stand-in `electron` module, driven through the
// IPC handler the window uses. Every file the app touches is found through the packaged
// layout (process.resourcesPath, app.asar): none of it comes from this checkout.
import assert from 'node:assert/strict';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const require = createRequire(import.meta.url);
const asar = require('@electron/asar') as {
  listPackage(archive: string, options: { isPack: boolean }): string[];
  extractAll(archive: string, dest: string): void;
};
const { FuseV1Options, getCurrentFuseWire } = require('@electron/fuses') as {
  FuseV1Options: Record<string, number>;
  getCurrentFuseWire(file: string): Promise<Record<number, number>>;
};

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
// Electron's defaults, in @electron/fuses order: RunAsNode, CookieEncryption, NodeOptions,
// NodeCliInspect, AsarIntegrity, OnlyLoadAppFromAsar, BrowserV8Snapshot, FileProtocolPrivileges.
const DEFAULT_WIRE = '10110001';

const firmware = ['wasm/qb_runtime.wasm', 'host/virtual_board', 'mps2/board.elf'];
const missingFirmware = firmware.filter((f) => !existsSync(path.join(repoRoot, 'build', 'firmware', f)));
const skip =
  process.platform !== 'linux'
    ? 'the stand-in Electron distribution is a Linux one'
    : missingFirmware.length
      ? `firmware not built (${missingFirmware.join(', ')}): make -C resources/firmware`
      : false;

/**
 * An unpacked Electron distribution with a stand-in executable: a shell script carrying the
 * fuse sentinel and wire where @electron/fuses looks for them, so the package's fuses are
 * flipped exactly as on the real binary, and a marker that tells the afterPack ABI check the
 * main process will run under this Node.
 */
function standInElectronDist(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const wire = Buffer.concat([Buffer.from(`#!/bin/sh\n# ${SENTINEL}`, 'latin1'), Buffer.from([1, DEFAULT_WIRE.length]), Buffer.from(`${DEFAULT_WIRE}\n`, 'latin1')]);
  const script = Buffer.from('echo "stand-in Electron: run tests/package/launch-packaged.cjs under node" >&2\nexit 1\n');
  writeFileSync(path.join(dir, 'electron'), Buffer.concat([wire, script]));
  chmodSync(path.join(dir, 'electron'), 0o755);
  writeFileSync(path.join(dir, 'LICENSE'), 'stand-in\n');
  mkdirSync(path.join(dir, 'resources'), { recursive: true });
  writeFileSync(
    path.join(dir, 'quantbench-stand-in.json'),
    `${JSON.stringify({ runtime: 'node', node: process.version, modules: process.versions.modules })}\n`,
  );
  return dir;
}

interface Reply {
  type: string;
  id?: number;
  result?: unknown;
  error?: string;
  channel?: string;
  args?: unknown[];
}

/** The packaged app in its own Node process, spoken to as the window would. */
class PackagedApp {
  private nextId = 0;
  private readonly pending = new Map<number, (r: Reply) => void>();
  readonly events: { name: string; payload: Record<string, unknown> }[] = [];
  private readonly waiters: (() => void)[] = [];
  stderr = '';

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('message', (m: Reply) => {
      if (m.type === 'reply') this.pending.get(m.id!)?.(m);
      if (m.type === 'event' && m.channel === 'quantbench:event') {
        this.events.push({ name: m.args![0] as string, payload: m.args![1] as Record<string, unknown> });
        this.waiters.splice(0).forEach((w) => w());
      }
    });
  }

  send(message: Record<string, unknown>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(message)}\n${this.stderr}`)), 120_000);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (r.error) reject(new Error(r.error));
        else resolve(r.result);
      });
      this.child.send({ ...message, id });
    });
  }

  /** One API call through ipcMain, as the preload makes it from the app's own page. */
  async call<T>(method: string, params: unknown = {}): Promise<T> {
    const r = (await this.send({ type: 'invoke', channel: 'quantbench:call', senderUrl: 'app://quantbench/index.html', args: [method, params] })) as {
      ok: boolean;
      result?: T;
      error?: { code: string; message: string };
    };
    if (!r.ok) throw new Error(`${method} failed: ${r.error?.code} ${r.error?.message}\n${this.stderr}`);
    return r.result as T;
  }

  async waitForEvent(match: (e: { name: string; payload: Record<string, unknown> }) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`event not seen within ${timeoutMs} ms; events: ${JSON.stringify(this.events.map((e) => e.name))}\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000);
      });
    }
  }
}

describe('the packaged desktop app', { skip }, () => {
  let work: string;
  let appOut: string;
  let resources: string;
  let entries: string[];
  let app: PackagedApp;

  before(async () => {
    work = tempDir('quantbench-package-');
    const dist = standInElectronDist(path.join(work, 'electron-dist'));
    const out = path.join(work, 'out');
    const r = spawnSync(
      process.execPath,
      ['scripts/dist.mjs', '--dir', '--linux', `-c.electronDist=${dist}`, '-c.npmRebuild=false', `-c.directories.output=${out}`],
      { cwd: repoRoot, encoding: 'utf8', timeout: 600_000, env: { ...process.env, QUANTBENCH_DIST_REUSE_RENDERER: '1' } },
    );
    assert.equal(r.status, 0, `npm run dist -- --dir failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /native addons match the stand-in Electron/);
    appOut = path.join(out, 'linux-unpacked');
    resources = path.join(appOut, 'resources');

    // Node cannot read an asar archive: list it, then extract it to a folder of the same name
    // (with its unpacked files), so every path the app computes is the one Electron would see.
    const archive = path.join(resources, 'app.asar');
    entries = asar.listPackage(archive, { isPack: false });
    const extracted = path.join(resources, 'app.asar.extracted');
    asar.extractAll(archive, extracted);
    rmSync(archive);
    renameSync(extracted, archive);

    // `require('electron')` from the package resolves up the tree to the stand-in.
    const electronModule = path.join(work, 'node_modules', 'electron');
    mkdirSync(electronModule, { recursive: true });
    copyFileSync(path.join(repoRoot, 'tests', 'package', 'electron-stand-in.cjs'), path.join(electronModule, 'index.js'));
    writeFileSync(path.join(electronModule, 'package.json'), '{ "name": "electron", "main": "index.js" }\n');

    const userData = path.join(work, 'user-data');
    mkdirSync(userData);
    // Run from an unrelated folder with a clean environment: nothing may come from the checkout.
    const cwd = path.join(work, 'elsewhere');
    mkdirSync(cwd);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, QUANTBENCH_STAND_IN_USER_DATA: userData };
    const child = fork(path.join(repoRoot, 'tests', 'package', 'launch-packaged.cjs'), [resources], {
      cwd,
      env,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    app = new PackagedApp(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`packaged main exited (${code}) before ready:\n${app.stderr}`)));
      child.on('message', (m: Reply) => m.type === 'ready' && resolve());
    });
  });

  after(async () => {
    if (!app) return;
    await app.send({ type: 'quit' }).catch(() => undefined);
    app.child.kill();
  });

  it('holds only bundled JavaScript in app.asar: no TypeScript, no tsx, no esbuild', () => {
    const names = entries.map((e) => e.replace(/\\/g, '/'));
    assert.ok(names.includes('/dist/app/main.cjs'), 'main.cjs is packaged');
    assert.ok(names.includes('/dist/app/worker.mjs'), 'the job worker is packaged');
    assert.ok(names.includes('/dist/app/job-compress.mjs'), 'the compress job module is packaged');
    assert.ok(names.includes('/dist/renderer/index.html'), 'the renderer is packaged');
    assert.deepEqual(names.filter((n) => /\.(ts|mts|cts)$/.test(n)), [], 'TypeScript files in app.asar');
    assert.deepEqual(names.filter((n) => /\/node_modules\/(tsx|esbuild|@esbuild)(\/|$)/.test(n)), [], 'tsx or esbuild in app.asar');
    assert.deepEqual(names.filter((n) => n.startsWith('/core/')), [], 'core sources in app.asar');
  });

  it('ships the firmware builds and the sample beside app.asar', () => {
    for (const f of firmware) assert.ok(statSync(path.join(resources, 'firmware', f)).size > 0, f);
    assert.ok(existsSync(path.join(resources, 'samples', 'fashion-mnist-cnn.keras')));
    assert.ok(existsSync(path.join(resources, 'samples', 'fashion-mnist')));
  });

  it('flips the fuses: no ELECTRON_RUN_AS_NODE, encrypted cookies, app only from a validated asar', async () => {
    const wire = await getCurrentFuseWire(path.join(appOut, 'quantbench'));
    const state = (name: string) => String.fromCharCode(wire[FuseV1Options[name]!]!);
    assert.equal(state('RunAsNode'), '0');
    assert.equal(state('EnableCookieEncryption'), '1');
    assert.equal(state('EnableNodeOptionsEnvironmentVariable'), '0');
    assert.equal(state('EnableNodeCliInspectArguments'), '0');
    assert.equal(state('EnableEmbeddedAsarIntegrityValidation'), '1');
    assert.equal(state('OnlyLoadAppFromAsar'), '1');
    assert.equal(state('GrantFileProtocolExtraPrivileges'), '0');
  });

  it('opens a sandboxed window without developer tools and serves the renderer from the package', async () => {
    const state = (await app.send({ type: 'state' })) as {
      url: string;
      webPreferences: Record<string, unknown>;
      ipcChannels: string[];
      permissionGranted: boolean;
    };
    assert.equal(state.url, 'app://quantbench/index.html');
    assert.equal(state.webPreferences.sandbox, true);
    assert.equal(state.webPreferences.contextIsolation, true);
    assert.equal(state.webPreferences.nodeIntegration, false);
    assert.equal(state.webPreferences.devTools, false);
    assert.ok(existsSync(state.webPreferences.preload as string), `preload ${String(state.webPreferences.preload)} exists`);
    assert.ok((state.webPreferences.preload as string).startsWith(path.join(resources, 'app.asar') + path.sep));
    assert.equal(state.permissionGranted, false);
    const page = (await app.send({ type: 'fetch', url: 'app://quantbench/index.html' })) as { status: number; csp: string; body: string };
    assert.equal(page.status, 200);
    assert.match(page.csp, /default-src 'self'/);
    assert.match(page.body, /<!doctype html>/i);
  });

  it('opens only its own documentation in the browser', async () => {
    const homepage = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { homepage: string }).homepage;
    const docs = `${homepage}/blob/main/docs/recipes.md`;
    const allowed = (await app.send({ type: 'open-window', url: docs })) as { actions: string[]; openedExternally: boolean };
    assert.deepEqual(allowed, { actions: ['deny'], openedExternally: true });
    for (const url of ['https://example.com/', `${homepage}.evil.example/docs/x`, `${homepage}/issues/new`, 'file:///etc/passwd', `http://${new URL(homepage).host}/`]) {
      const refused = (await app.send({ type: 'open-window', url })) as { actions: string[]; openedExternally: boolean };
      assert.deepEqual(refused, { actions: ['deny'], openedExternally: false }, url);
    }
  });

  it('imports the sample, compresses it in a job worker, lists the run, and runs a virtual board', async () => {
    const info = await app.call<{ face: string; version: string }>('app.info');
    assert.equal(info.face, 'electron');

    const model = await app.call<{ id: number; name: string }>('models.importSample');
    assert.ok(model.id > 0);

    const job = await app.call<{ jobId: string }>('compress.start', { modelId: model.id, recipe: 'int8', data: 'fashion-mnist:test', evalLimit: 200 });
    const done = await app.waitForEvent((e) => e.name === 'onJobDone' && e.payload.jobId === job.jobId, 150_000);
    assert.equal(done.payload.ok, true, `compression job failed: ${JSON.stringify(done.payload.error)}\n${app.stderr}`);
    assert.ok(app.events.some((e) => e.name === 'onJobProgress' && e.payload.jobId === job.jobId), 'progress reached the window');

    const runs = await app.call<{ total: number; runs: { id: number; status: string; int8Accuracy: number | null }[] }>('runs.list');
    const run = runs.runs.find((r) => r.id === done.payload.runId);
    assert.ok(run, `run ${String(done.payload.runId)} is listed`);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.int8Accuracy !== null && run.int8Accuracy > 0.5, `int8 accuracy ${run.int8Accuracy} measured with the packaged wasm runtime`);

    const board = await app.call<{ path: string }>('boards.launch', { kind: 'virtual' });
    assert.match(board.path, /^\/dev\/pts\/\d+$/);
    const hello = await app.call<{ name: string }>('boards.hello', { port: board.path });
    assert.ok(hello.name.length > 0);
    const stopped = await app.call<{ stopped: boolean }>('boards.stop', { port: board.path });
    assert.equal(stopped.stopped, true);
  });
});
