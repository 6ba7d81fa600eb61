/**
 * Keeps the round(n * (1 - sparsity)) largest magnitudes (at least one), as TF MOT's
 * `_update_mask` does: the threshold is the k-th largest |w| and everything at or above it
 * survives, so ties at the threshold are kept rather than broken arbitrarily.
 */
export function magnitudeMask(weights: Float32Array, sparsity: number): Uint8Array {
  const n = weights.length;
  const keep = Math.max(1, Math.round(n * (1 - sparsity)));
  const mags = Float32Array.from(weights, Math.abs).sort();
  const threshold = mags[n - keep]!;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = Math.abs(weights[i]!) >= threshold ? 1 : 0;
  return mask;
}

/** Fraction of the mask that prunes. */
export function maskSparsity(mask: Uint8Array): number {
  let zeros = 0;
  for (const m of mask) if (m === 0) zeros++;
  return mask.length ? zeros / mask.length : 0;
}
