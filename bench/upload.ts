/**
 * Upload efficiency over an emulated UART: the share of the link's byte rate (baud/10 at
 * 8N1) that arrives as model payload, for the windowed upload and, as the baseline in the
 * same run, a stop-and-wait upload (window 1). Target: efficiency >= 0.90.
 *
 *   node --import tsx bench/upload.ts [--model FILE] [--bauds 115200,921600]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Board } from '../core/device/board';
import { crc32 } from '../core/device/crc32';
import { startVirtualBoard } from '../core/device/launch';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.resolve(repo, '..', 'shared', 'models', 'kws_ref_model.tflite') },
    bauds: { type: 'string', default: '115200,921600' },
  },
});

execFileSync('make', ['-s', '-C', path.join(repo, 'resources', 'firmware'), '-f', 'protocol/protocol.mk', 'protocol'], { stdio: 'inherit' });
const model = new Uint8Array(readFileSync(values.model!));

async function measure(baud: number, window: number) {
  const vb = await startVirtualBoard({ baud });
  const board = await Board.connect(vb.port);
  try {
    const r = await board.upload(model, { window });
    if (r.crc !== crc32(model)) throw new Error(`upload at ${baud} baud did not verify`);
    const linkBytesPerSecond = baud / 10;
    const payloadBytesPerSecond = r.bytes / r.seconds;
    return { baud, window, seconds: r.seconds, linkBytesPerSecond, payloadBytesPerSecond, efficiency: payloadBytesPerSecond / linkBytesPerSecond, rewinds: r.rewinds };
  } finally {
    await board.close();
    await vb.stop();
  }
}

const results = [];
for (const baud of values.bauds!.split(',').map(Number)) {
  const windowed = await measure(baud, 4);
  const stopAndWait = await measure(baud, 1);
  results.push({ baud, windowed, stopAndWait, speedupOverStopAndWait: stopAndWait.seconds / windowed.seconds, meetsTarget: windowed.efficiency >= 0.9 });
}
process.stdout.write(JSON.stringify({ bench: 'upload', model: path.basename(values.model!), bytes: model.length, target: 0.9, results }, null, 2) + '\n');
