// Job handlers that exercise the manager: each runs for real in a worker thread.
import { QuantbenchError } from '../../core/errors';
import type { JobContext } from '../../core/jobs/types';

export async function countTo(ctx: JobContext<{ n: number; delayMs: number }>): Promise<number> {
  let sum = 0;
  for (let i = 1; i <= ctx.params.n; i++) {
    if (ctx.signal.aborted) throw new QuantbenchError('JOB_CANCELLED', 'stopped');
    await new Promise((r) => setTimeout(r, ctx.params.delayMs));
    sum += i;
    ctx.progress('counting', i / ctx.params.n, `${i} of ${ctx.params.n}`);
  }
  ctx.log(`sum ${sum}`);
  return sum;
}

/** Never looks at its signal: cancelling must still stop it. */
export async function spinForever(ctx: JobContext): Promise<never> {
  ctx.progress('spinning', null);
  for (;;) {
    // A busy loop with no await: the thread can only be stopped by terminating it.
  }
}

export async function failWithHint(): Promise<never> {
  throw new QuantbenchError('BAD_INPUT', 'layer conv2d_1 has no weights in model.h5', { hint: 're-export the model' });
}

/** Keeps every array it makes: only the thread's heap limit can stop it. */
export async function hoardMemory(): Promise<never> {
  const kept: number[][] = [];
  for (;;) kept.push(new Array<number>(1 << 16).fill(kept.length));
}
