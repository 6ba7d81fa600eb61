/**
 * Per-inference time of two or more wasm builds of our runtime on one model, side by side in
 * one Node process: the check for a kernel change before the browser bench. Prints one JSON
 * document.
 *
 *   node --import tsx bench/runtime-ab.ts --model FILE [--rounds N] BASE.wasm NEW.wasm [...]
 *
 * Build the baseline from a checkout of the base revision with
 * `make -C resources/firmware wasm OUT=/tmp/base` (then /tmp/base/wasm/qb_runtime_simd.wasm).
 *
 * Method: every build loads the model into its own instance; an inference is what
 * bench/runtime-wasm.ts times (copy the input in, invoke). After a second and a half of
 * warm-up each (V8 tiers wasm up), each round times a 20 ms block of every build, the
 * order rotating round to round. Per build: the fastest block, the 25th percentile and
 * the median, in microseconds per inference; `ratio` is the first build's 25th percentile
 * over this one's (above 1: faster than the first). The 25th percentile, because these
 * machines are shared: a neighbour's load slows whole stretches of blocks, never speeds
 * one up. Before timing, every build's output must equal the first's byte for byte.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { instantiateRuntime } from '../core/runtime/wasm-module';

const { values, positionals } = parseArgs({
  options: { model: { type: 'string' }, rounds: { type: 'string', default: '61' } },
  allowPositionals: true,
  strict: true,
});
if (!values.model || positionals.length < 2)
  throw new Error('usage: runtime-ab.ts --model FILE [--rounds N] BASE.wasm NEW.wasm [...]');
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds ${values.rounds}: a whole number above 0`);
const model = new Uint8Array(readFileSync(values.model));

/** One instance with the model loaded and a fixed input; once() is one inference. */
async function instance(file: string): Promise<{ once: () => void; output: Uint8Array }> {
  const e = await instantiateRuntime(file);
  const bytes = () => new Uint8Array(e.memory.buffer);
  const expect = (what: string, status: number) => {
    if (status !== 0) throw new Error(`${file}: ${what} returned status ${status}`);
  };
  e.qb_wasm_reset();
  const it = e.qb_wasm_alloc(e.qb_interpreter_size());
  const mp = e.qb_wasm_alloc(model.length);
  bytes().set(model, mp);
  expect(`loading ${values.model}`, e.qb_load(it, mp, model.length));
  const arena = Math.max(e.qb_arena_required(it), 16);
  expect('qb_set_arena', e.qb_set_arena(it, e.qb_wasm_alloc(arena), arena));
  const info = e.qb_wasm_alloc(e.qb_wasm_info_bytes());
  e.qb_input_info(it, 0, info);
  const inBytes = new DataView(e.memory.buffer).getUint32(info + 32, true);
  e.qb_output_info(it, 0, info);
  const outBytes = new DataView(e.memory.buffer).getUint32(info + 32, true);
  const ip = e.qb_wasm_alloc(inBytes);
  const op = e.qb_wasm_alloc(outBytes);
  bytes().set(
    Uint8Array.from({ length: inBytes }, (_, i) => ((i + 1) * 2654435761) >>> 24),
    ip,
  );
  const once = () => {
    expect('qb_set_input', e.qb_set_input(it, 0, ip, inBytes));
    expect('qb_invoke', e.qb_invoke(it));
  };
  once();
  expect('qb_get_output', e.qb_get_output(it, 0, op, outBytes));
  return { once, output: bytes().slice(op, op + outBytes) };
}

const builds = [];
for (const file of positionals) builds.push(await instance(file));
for (let b = 1; b < builds.length; b++) {
  const a = builds[0].output;
  const o = builds[b].output;
  const differ =
    o.length !== a.length ? o.length : o.reduce((n, v, i) => n + (v !== a[i] ? 1 : 0), 0);
  if (differ)
    throw new Error(`${positionals[b]}: ${differ} output bytes differ from ${positionals[0]}'s`);
}

/** Microseconds per inference over a block of about ms milliseconds. */
function block(once: () => void, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    once();
    n++;
  }
  return ((performance.now() - t0) * 1000) / n;
}

for (const b of builds) block(b.once, 1500);
const times: number[][] = builds.map(() => []);
for (let r = 0; r < rounds; r++)
  for (let k = 0; k < builds.length; k++) {
    const b = (k + r) % builds.length;
    times[b].push(block(builds[b].once, 20));
  }
const at = (sorted: number[], q: number) => sorted[Math.floor((sorted.length - 1) * q)];
const round2 = (v: number) => Math.round(v * 100) / 100;
const rows = times.map((t, b) => {
  const s = [...t].sort((x, y) => x - y);
  return {
    build: positionals[b],
    min_us: round2(s[0]),
    p25_us: round2(at(s, 0.25)),
    median_us: round2(at(s, 0.5)),
  };
});
console.log(
  JSON.stringify(
    {
      model: values.model,
      rounds,
      builds: rows.map((r) => ({
        ...r,
        ratio: Math.round((rows[0].p25_us / r.p25_us) * 1000) / 1000,
      })),
    },
    null,
    2,
  ),
);
