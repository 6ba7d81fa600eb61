import * as tf from '@tensorflow/tfjs';
import { ModelWeightsError } from './errors';

/**
 * A damaged config can declare `units: 1000000000`; tfjs would then try to allocate and
 * initialise that weight, which hangs or exhausts memory long before the shape check against
 * the file. While a model is built from a file, no single weight may be larger than all the
 * values the file holds (small weights pass, so the precise per-layer check reports those).
 */
interface Budget {
  file: string;
  values: number;
}

/** Weights this small cost nothing to create, whatever the file holds. */
const ALWAYS_ALLOWED = 1 << 20;

let active: Budget | undefined;
let queue: Promise<unknown> = Promise.resolve();

type AddWeight = (
  this: tf.layers.Layer,
  name: string,
  shape: (number | null)[],
  ...rest: unknown[]
) => tf.LayerVariable;
const prototype = tf.layers.Layer.prototype as unknown as { addWeight: AddWeight };
const original = prototype.addWeight;
prototype.addWeight = function (this: tf.layers.Layer, name, shape, ...rest) {
  if (active) {
    const size = shape.reduce<number>((a, d) => a * (d ?? 1), 1);
    if (!Number.isFinite(size) || size > Math.max(active.values, ALWAYS_ALLOWED)) {
      throw new ModelWeightsError(
        active.file,
        `layer "${this.name}" declares weight "${name}" of shape [${shape.join(', ')}], more values than the file holds (${active.values})`,
      );
    }
  }
  return original.call(this, name, shape, ...rest);
};

/** Runs `build` with the budget in force; builds are serialised so budgets never mix. */
export function withWeightBudget<T>(
  file: string,
  values: number,
  build: () => Promise<T>,
): Promise<T> {
  const run = queue.then(async () => {
    active = { file, values };
    try {
      return await build();
    } finally {
      active = undefined;
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
