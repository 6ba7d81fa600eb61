/**
 * A child process that records runs in a loop, as `compress` would, and reports each one on
 * stdout only after the store call returned. Parents kill it or read alongside it.
 *
 *   node --import tsx writer-process.ts DATA_DIR [COUNT] [DELETE_EVERY]
 *
 * Lines: `ready`, `committed <id> <uuid> <sha256>...`, `deleting <id>`, `deleted <id>`, `done`.
 */
import { randomBytes } from 'node:crypto';
import { openStore } from '../../../core/store/index';
import { layers, recordFixtureDataset, recordFixtureModel } from './fixtures';

const [dataDir, countArg, deleteEveryArg] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: writer-process.ts DATA_DIR [COUNT] [DELETE_EVERY]');
const count = Number(countArg ?? Infinity);
const deleteEvery = Number(deleteEveryArg ?? 0);

const store = openStore(dataDir);
const model = recordFixtureModel(store);
const dataset = recordFixtureDataset(store);
// Shared by every run, so deletes must keep it while any run still uses it.
const shared = store.putArtifact(Buffer.from('shared c-source header\n'.repeat(50)), 'c-source');
process.stdout.write('ready\n');

const mine: number[] = [];
for (let i = 0; i < count; i++) {
  const id = store.beginRun({
    modelId: model.id,
    datasetId: dataset.id,
    recipe: { prune: { sparsity: (i % 10) / 10 }, seed: i },
    recipeName: `r${i % 5}`,
    tags: ['loop'],
  });
  const tflite = randomBytes(1024 + Math.floor(Math.random() * 32 * 1024));
  store.finishRun(id, {
    metrics: { floatAccuracy: 0.9, int8Accuracy: 0.8 + (i % 100) / 1000, sparsity: (i % 10) / 10 },
    sizes: { tfliteBytes: tflite.byteLength, floatBytes: tflite.byteLength * 4 },
    layers: layers(20, i),
    artifacts: [
      { role: 'tflite', kind: 'tflite', bytes: tflite },
      { role: 'c-source', artifact: shared },
    ],
  });
  const { uuid } = store.getRun(id);
  const shas = store.getRun(id).artifacts.map((a) => a.sha256);
  process.stdout.write(`committed ${id} ${uuid} ${shas.join(' ')}\n`);
  mine.push(id);
  if (deleteEvery > 0 && i % deleteEvery === deleteEvery - 1) {
    const victim = mine.splice(Math.floor(Math.random() * mine.length), 1)[0]!;
    process.stdout.write(`deleting ${victim}\n`);
    store.deleteRun(victim);
    process.stdout.write(`deleted ${victim}\n`);
  }
}
store.close();
process.stdout.write('done\n');
