import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { serializeError } from '../errors';
import type { JobHandler, WorkerInput, WorkerMessage } from './types';

const input = workerData as WorkerInput;
const port = parentPort!;
const controller = new AbortController();
const send = (message: WorkerMessage) => port.postMessage(message);

port.on('message', (message: { type: string }) => {
  if (message.type === 'cancel') controller.abort(new Error('cancelled'));
});

async function run(): Promise<void> {
  const url = input.job.module.startsWith('file:') ? input.job.module : pathToFileURL(input.job.module).href;
  const mod = (await import(url)) as Record<string, unknown>;
  const handler = mod[input.job.export];
  if (typeof handler !== 'function') {
    throw new Error(`job module ${input.job.module} has no exported function ${input.job.export}`);
  }
  const result = await (handler as JobHandler)({
    jobId: input.jobId,
    params: input.params,
    signal: controller.signal,
    progress: (step, fraction, message) => send({ type: 'progress', step, fraction, message }),
    log: (line) => send({ type: 'log', line }),
    publish: (key, value) => send({ type: 'publish', key, value }),
  });
  send({ type: 'result', result });
}

run().then(
  () => port.close(),
  (error: unknown) => {
    send({ type: 'error', error: serializeError(error) });
    port.close();
  },
);
