import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Board } from '../../core/device/board';
import { pushModel } from '../../core/device/push';
import { crc32 } from '../../core/device/crc32';
import { startVirtualBoard, type LaunchedBoard } from '../../core/device/launch';
import { escapeIac, telnetDecoder } from '../../core/device/transports/rfc2217';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { buildProtocolTarget } from './firmware';

const kws = 'kws_ref_model.tflite';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForListener(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`ser2net did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ser2net 4 in the foreground, one connection per accepter, from a YAML file. */
async function startSer2net(accepters: { name: string; accepter: string; device: string }[]): Promise<ChildProcess> {
  const dir = tempDir('quantbench-ser2net-');
  const config = accepters
    .map((a) => [`connection: &${a.name}`, `  accepter: ${a.accepter}`, `  connector: serialdev,${a.device},115200n81,local`, '  options:', '    kickolduser: true', ''].join('\n'))
    .join('\n');
  const file = path.join(dir, 'ser2net.yaml');
  writeFileSync(file, config);
  const child = spawn('ser2net', ['-n', '-u', '-P', path.join(dir, 'ser2net.pid'), '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  for (const a of accepters) {
    const port = Number(/127\.0\.0\.1,(\d+)/.exec(a.accepter)![1]);
    await waitForListener(port, 5000).catch((e: Error) => {
      throw new Error(`${e.message}; ser2net said: ${stderr}`);
    });
  }
  return child;
}

describe('telnet framing for RFC 2217', () => {
  it('doubles 0xFF in data and strips negotiation from a stream split anywhere', () => {
    assert.deepEqual(escapeIac(Uint8Array.of(1, 255, 2)), Uint8Array.of(1, 255, 255, 2));
    const seen: [number, number][] = [];
    const decode = telnetDecoder((c, o) => seen.push([c, o]));
    const stream = Uint8Array.of(7, 255, 253, 44, 8, 255, 255, 9, 255, 250, 44, 101, 0, 1, 194, 0, 255, 240, 10);
    const out: number[] = [];
    for (const b of stream) out.push(...decode(Uint8Array.of(b)));
    assert.deepEqual(out, [7, 8, 255, 9, 10]);
    assert.deepEqual(seen, [[253, 44]]);
  });
});

describe('boards behind ser2net', () => {
  // One board per accepter: ser2net releases a device asynchronously after a client leaves.
  let boards: LaunchedBoard[] = [];
  let ser2net: ChildProcess;
  let tcpPort: number;
  let rfcPort: number;

  before(async () => {
    buildProtocolTarget('protocol');
    boards = [await startVirtualBoard(), await startVirtualBoard()];
    tcpPort = await freePort();
    rfcPort = await freePort();
    ser2net = await startSer2net([
      { name: 'raw', accepter: `tcp,127.0.0.1,${tcpPort}`, device: boards[0]!.port },
      { name: 'rfc', accepter: `telnet(rfc2217),tcp,127.0.0.1,${rfcPort}`, device: boards[1]!.port },
    ]);
  });
  after(async () => {
    ser2net?.kill();
    for (const b of boards) await b.stop();
  });

  for (const scheme of ['tcp', 'rfc2217'] as const) {
    it(`pushes, benchmarks and evaluates over ${scheme}://`, { skip: missingSharedModels(kws) }, async () => {
      const url = `${scheme}://127.0.0.1:${scheme === 'tcp' ? tcpPort : rfcPort}`;
      const result = await pushModel({ port: url, model: sharedModel(kws), bench: 5, data: 'random:9', limit: 20 });
      assert.equal(result.port, url);
      assert.equal(result.board.name, 'virtual');
      assert.equal(result.model.crc, crc32(new Uint8Array(readFileSync(sharedModel(kws)))));
      assert.equal(result.bench!.runs, 5);
      assert.equal(result.eval!.samples, 20);
      assert.equal(result.eval!.agreement, 1);
    });
  }

  it('names the URL when nothing listens', async () => {
    const port = await freePort();
    await assert.rejects(Board.connect(`tcp://127.0.0.1:${port}`), (e: Error) => {
      assert.match(e.message, new RegExp(`tcp://127.0.0.1:${port}`));
      return true;
    });
  });
});
