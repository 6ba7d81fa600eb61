/**
 * Small dense symmetric solves for layer-wise reconstruction. Systems are at most a few
 * thousand unknowns (one layer's receptive field plus a bias), so plain float64 Cholesky
 * beats a tensor library's overhead.
 */

/**
 * Solves (A + λI) x = b + λ·prior, λ = damping·mean(diag A), for a symmetric positive
 * semi-definite `A` (n×n, row-major): least squares pulled towards `prior` (zero when absent).
 * The pull keeps directions the samples barely excite (correlated or dead inputs, fewer
 * samples than unknowns) near the prior instead of fitting noise with huge values; λ is
 * raised tenfold until the factorisation succeeds.
 */
export function solveSpd(
  a: Float64Array,
  b: Float64Array,
  n: number,
  damping = 0.01,
  prior?: Float64Array,
): Float64Array {
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += a[i * n + i]!;
  meanDiag = n ? meanDiag / n : 0;
  const base = meanDiag > 0 ? meanDiag : 1;
  for (let lambda = damping * base; ; lambda *= 10) {
    const l = cholesky(a, n, lambda);
    if (l) return choleskySolve(l, prior ? b.map((v, i) => v + lambda * prior[i]!) : b, n);
    if (lambda > 1e6 * base) return new Float64Array(n);
  }
}

/** Lower factor of A + λI, or undefined when it is not positive definite. */
function cholesky(a: Float64Array, n: number, lambda: number): Float64Array | undefined {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]! + lambda;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) return undefined;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, b: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}
