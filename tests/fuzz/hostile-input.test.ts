// Property-based fuzzing of every input Quantbench takes from outside: serve mode's request
// line, headers and WebSocket frames, and the model and dataset readers. The properties: the
// process never dies, and every refusal is a QuantbenchError with a code. Bounded to about a
// minute in all; QUANTBENCH_FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { openCsv } from '../../core/data/csv';
import { openNpy } from '../../core/data/npy';
import { openNpz } from '../../core/data/npz';
import { QuantbenchError } from '../../core/errors';
import { saveKeras } from '../../core/model/keras-writer';
import { loadModel } from '../../core/model/index';
import { npyBytes } from '../data/write-arrays';
import { saveAsKeras2H5 } from '../model/keras-files';
import { startServeProcess, type ServeProcess } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

// A corrupt HDF5 file can send libhdf5 into a loop; a short deadline keeps the budget.
process.env.QUANTBENCH_H5_TIMEOUT_MS ??= '3000';
const seed = Number(process.env.QUANTBENCH_FUZZ_SEED ?? 20261204);

/** Writes bytes, waits for the server to answer or close, and gives up after `ms`. */
function exchange(port: number, chunks: (string | Uint8Array)[], ms = 150): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

function alive(server: ServeProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: server.port, path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

/** A WebSocket frame, masked or not, with any opcode, length field and payload. */
const frame = fc
  .record({
    fin: fc.boolean(),
    rsv: fc.integer({ min: 0, max: 7 }),
    opcode: fc.integer({ min: 0, max: 15 }),
    masked: fc.boolean(),
    lengthForm: fc.constantFrom('exact', '16', '64', 'lie'),
    payload: fc.uint8Array({ maxLength: 300 }),
  })
  .map(({ fin, rsv, opcode, masked, lengthForm, payload }) => {
    const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
    const n = payload.length;
    const maskBit = masked ? 0x80 : 0;
    if (lengthForm === '16') head.push(maskBit | 126, n >> 8, n & 0xff);
    else if (lengthForm === '64') head.push(maskBit | 127, 0, 0, 0, 0, 0, 0, n >> 8, n & 0xff);
    else if (lengthForm === 'lie') head.push(maskBit | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    else head.push(maskBit | Math.min(n, 125));
    const key = [1, 2, 3, 4];
    if (masked) head.push(...key);
    const body = Uint8Array.from(payload.subarray(0, lengthForm === 'exact' ? Math.min(n, 125) : n), (b, i) => (masked ? b ^ key[i % 4]! : b));
    return Buffer.concat([Buffer.from(head), body]);
  });

describe('fuzzing serve mode', () => {
  let server: ServeProcess;
  before(async () => {
    server = await startServeProcess(tempDir());
  });
  after(() => server.stop());

  it('survives arbitrary request lines and headers', { timeout: 60_000 }, async () => {
    const token = () => server.token;
    const target = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^\/[A-Za-z0-9%?=&#.:[\]/-]{0,40}$/),
      fc.constantFrom('/', '/api', '/?token=', 'http://[', '*', '/%', '/%E0%A4%A', '/..%2f..%2fetc/passwd'),
    );
    const header = fc.tuple(
      fc.constantFrom('Cookie', 'Host', 'Origin', 'Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Content-Length', 'Transfer-Encoding', 'X-Anything'),
      fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('%', 'websocket', 'Upgrade', '13', 'chunked', '-1', `qb_token=%`, 'qb_token_1=%E0')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'POST', 'OPTIONS', 'G\u0000T', ''),
        target,
        fc.array(header, { maxLength: 6 }),
        fc.boolean(),
        async (method, path, headers, withToken) => {
          const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`];
          if (withToken) lines.push(`Cookie: qb_token_${server.port}=${token()}`);
          for (const [name, value] of headers) lines.push(`${name}: ${value}`);
          await exchange(server.port, [lines.join('\r\n') + '\r\n\r\n']);
          assert.equal(server.child.exitCode, null, 'the server died');
        },
      ),
      { numRuns: 150, seed },
    );
    assert.equal(await alive(server), 401);
  });

  it('survives arbitrary WebSocket frames on an authenticated socket', { timeout: 60_000 }, async () => {
    const upgrade =
      `GET /api?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: http://127.0.0.1:${server.port}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n\r\n`;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 4 }), async (frames) => {
        await exchange(server.port, [upgrade, ...frames], 120);
        assert.equal(server.child.exitCode, null, 'the server died');
      }),
      { numRuns: 120, seed },
    );
    assert.equal(await alive(server), 401);
  });
});

/** Seed bytes with a few bytes replaced, and sometimes cut short. */
const mutation = fc.record({
  edits: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});

function mutate(seedBytes: Uint8Array, m: { edits: { at: number; value: number }[]; cut?: number }): Uint8Array {
  const out = Uint8Array.from(seedBytes);
  for (const e of m.edits) out[e.at % out.length] = e.value;
  return m.cut === undefined ? out : out.subarray(0, m.cut % (out.length + 1));
}

/** Runs the reader on each mutation: it may load, or fail with a coded QuantbenchError. */
async function fuzzReader(seedBytes: Uint8Array, file: string, read: () => Promise<unknown>, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(mutation, async (m) => {
      writeFileSync(file, mutate(seedBytes, m));
      try {
        const result = await read();
        (result as { model?: tf.LayersModel } | undefined)?.model?.dispose();
      } catch (error) {
        assert.ok(error instanceof QuantbenchError, `${path.basename(file)}: ${String(error)}`);
        assert.match(error.code, /^[A-Z][A-Z0-9_]+$/);
      }
    }),
    { numRuns, seed },
  );
}

describe('fuzzing the readers', () => {
  const dir = tempDir();
  const model = (() => {
    const input = tf.input({ shape: [4, 4, 1] });
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(conv) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(flat) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  })();

  it('.keras', { timeout: 60_000 }, async () => {
    const seedFile = path.join(dir, 'seed.keras');
    await saveKeras(model, seedFile);
    const file = path.join(dir, 'case.keras');
    await fuzzReader(readFileSync(seedFile), file, () => loadModel(file), 40);
  });

  it('.h5', { timeout: 60_000 }, async () => {
    const seedFile = path.join(dir, 'seed.h5');
    await saveAsKeras2H5(model, seedFile);
    const file = path.join(dir, 'case.h5');
    await fuzzReader(readFileSync(seedFile), file, () => loadModel(file), 25);
  });

  it('model.json', { timeout: 60_000 }, async () => {
    const folder = tempDir();
    let json = '';
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        writeFileSync(path.join(folder, 'shard.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        json = JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['shard.bin'], weights: a.weightSpecs }] });
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const file = path.join(folder, 'model.json');
    await fuzzReader(new TextEncoder().encode(json), file, () => loadModel(file), 60);
  });

  it('CSV, .npy and .npz datasets', { timeout: 60_000 }, async () => {
    const csv = path.join(dir, 'case.csv');
    await fuzzReader(new TextEncoder().encode('a,b;c,label\n1,"2\n3",0.5,1\n4,5,6,0\n'), csv, () => openCsv(csv), 100);
    const x = path.join(dir, 'x.npy');
    const y = path.join(dir, 'y.npy');
    writeFileSync(y, npyBytes('<i4', [2], [0, 1]));
    await fuzzReader(npyBytes('<f4', [2, 3], [1, 2, 3, 4, 5, 6]), x, () => openNpy(x, y), 100);
    const npz = path.join(dir, 'case.npz');
    const { zipSync } = await import('fflate');
    const seedNpz = zipSync({ 'x.npy': npyBytes('<f4', [2, 2], [1, 2, 3, 4]), 'y.npy': npyBytes('<i4', [2], [1, 0]) });
    await fuzzReader(seedNpz, npz, () => openNpz(npz), 100);
  });
});
