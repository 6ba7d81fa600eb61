import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { QuantbenchError } from '../../core/errors';
import { decodeUpload } from '../../core/handlers/models';
import { createService } from '../../core/service';
import { tempDir } from '../helpers/tmp';

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as QuantbenchError).code ?? 'NO_CODE';
  }
  return 'ACCEPTED';
}

describe('what a window (serve, Electron) may name', () => {
  const dataDir = tempDir();
  const service = createService({ dataDir, face: 'serve' });
  after(() => service.close());

  it('refuses a port that is neither listed nor a serial device name', async () => {
    assert.equal(await code(service.invoke('boards.hello', { port: '/dev/../etc/passwd' })), 'PORT_NOT_ALLOWED');
    assert.equal(await code(service.invoke('boards.hello', { port: '/dev/sda' })), 'PORT_NOT_ALLOWED');
    assert.equal(await code(service.invoke('boards.push', { runId: 1, port: '/dev/../etc/passwd' })), 'PORT_NOT_ALLOWED');
  });

  it('refuses a network board whose host the user did not add, and accepts it once added', async () => {
    const url = 'tcp://127.0.0.1:1';
    assert.equal(await code(service.invoke('boards.hello', { port: 'tcp://any-host.example:4000' })), 'PORT_NOT_ALLOWED');
    assert.equal(await code(service.invoke('boards.hello', { port: url })), 'PORT_NOT_ALLOWED');
    assert.equal(await code(service.invoke('boards.addRemote', { url: 'tcp://host/with/path:1' })), 'PORT_NOT_ALLOWED');
    await service.invoke('boards.addRemote', { url });
    // Past the check now: what remains is the connection itself, refused by the closed port.
    const after = await code(service.invoke('boards.hello', { port: url }));
    assert.notEqual(after, 'PORT_NOT_ALLOWED');
    assert.notEqual(after, 'ACCEPTED');
  });

  it('refuses dataset files outside the data directory unless the user chose them', async () => {
    const start = (data: string) => service.invoke('compress.start', { modelId: 1, recipe: 'int8', data });
    assert.equal(await code(start('csv:/etc/passwd#label=zzz')), 'PATH_NOT_ALLOWED');
    assert.equal(await code(start('csv:../../../../etc/passwd')), 'PATH_NOT_ALLOWED');
    assert.equal(await code(start('npy:x.npy,/etc/passwd')), 'PATH_NOT_ALLOWED');
    // Inside the data directory, or chosen in a dialog: the check passes and the model lookup decides.
    mkdirSync(path.join(dataDir, 'datasets'), { recursive: true });
    writeFileSync(path.join(dataDir, 'datasets', 'd.csv'), 'a,label\n1,0\n');
    assert.notEqual(await code(start('csv:datasets/d.csv')), 'PATH_NOT_ALLOWED');
    const chosen = path.join(tempDir(), 'picked.csv');
    writeFileSync(chosen, 'a,label\n1,0\n');
    service.allowPath(chosen);
    assert.notEqual(await code(start(`csv:${chosen}`)), 'PATH_NOT_ALLOWED');
  });

  it('leaves the command line its full paths', async () => {
    const cli = createService({ dataDir: tempDir(), face: 'cli' });
    try {
      assert.notEqual(await code(cli.invoke('boards.hello', { port: '/dev/null-port-for-test' })), 'PORT_NOT_ALLOWED');
    } finally {
      await cli.close();
    }
  });

  it('checks an upload\'s decoded size and alphabet before decoding it', async () => {
    assert.throws(() => decodeUpload('A'.repeat(4000), 'big.keras', 2999), (e: unknown) => (e as QuantbenchError).code === 'MODEL_TOO_LARGE');
    assert.equal(decodeUpload('AAAA', 'ok.keras', 3).length, 3);
    assert.equal(await code(service.invoke('models.upload', { name: 'm.keras', dataBase64: 'UEsD@@@@' })), 'MODEL_UPLOAD_INVALID');
  });
});
