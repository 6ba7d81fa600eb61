import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asymmetricParams,
  dequantizeAffine,
  multiplyByQuantizedMultiplier,
  quantizeAffine,
  quantizeBias,
  quantizeMultiplier,
  quantizeSymmetric,
  roundHalfAway,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
  symmetricScale,
} from '../../core/compress/quant-math';
import { seededRandom } from '../../core/compress/cluster';

describe('quantization math', () => {
  it('rounds half away from zero like std::round', () => {
    assert.deepEqual([2.5, -2.5, 0.5, -0.5, 1.49, -1.5].map(roundHalfAway), [3, -3, 1, -1, 1, -2]);
  });

  it('keeps symmetric weights in [-127, 127] with zero exactly zero', () => {
    const s = symmetricScale(2.54);
    assert.equal(quantizeSymmetric(2.54, s), 127);
    assert.equal(quantizeSymmetric(-2.54, s), -127);
    assert.equal(quantizeSymmetric(-9, s), -127);
    assert.ok(Object.is(quantizeSymmetric(0, s), 0));
    assert.ok(Object.is(quantizeSymmetric(-0.0001, s), 0), 'no negative zero');
    assert.equal(symmetricScale(0), 1);
  });

  it('widens activation ranges to contain zero and represents zero exactly', () => {
    const p = asymmetricParams(0.5, 6);
    assert.equal(p.zeroPoint, -128);
    assert.ok(Math.abs(p.scale - 6 / 255) < 1e-12);
    const q = asymmetricParams(-1, 3);
    assert.equal(dequantizeAffine(quantizeAffine(0, q), q), 0);
    assert.equal(quantizeAffine(3, q), 127);
    assert.equal(quantizeAffine(-1, q), -128);
    assert.equal(quantizeAffine(100, q), 127);
  });

  it('puts the bias at input_scale * weight_scale', () => {
    assert.equal(quantizeBias(0.3, 0.01, 0.002), 15000);
    assert.equal(quantizeBias(-0.1875, 0.5, 0.25), -2);
    assert.equal(quantizeBias(1e9, 1e-6, 1e-6), 2147483647);
  });

  it('splits a real multiplier into a Q31 mantissa and a shift as QuantizeMultiplier does', () => {
    assert.deepEqual(quantizeMultiplier(0.5), { multiplier: 2 ** 30, shift: 0 });
    assert.deepEqual(quantizeMultiplier(0.25), { multiplier: 2 ** 30, shift: -1 });
    assert.deepEqual(quantizeMultiplier(1), { multiplier: 2 ** 30, shift: 1 });
    assert.deepEqual(quantizeMultiplier(0.75), { multiplier: 0.75 * 2 ** 31, shift: 0 });
    // A mantissa that rounds up to 2^31 moves into the exponent.
    assert.deepEqual(quantizeMultiplier(1 - 2 ** -40), { multiplier: 2 ** 30, shift: 1 });
    const random = seededRandom(3);
    for (let i = 0; i < 200; i++) {
      const real = 10 ** (-6 + 7 * random());
      const { multiplier, shift } = quantizeMultiplier(real);
      assert.ok(multiplier >= 2 ** 30 && multiplier < 2 ** 31, `mantissa of ${real}`);
      assert.ok(Math.abs(multiplier * 2 ** (shift - 31) - real) / real < 2 ** -30);
    }
  });

  it('rounds fixed-point products half away from zero', () => {
    assert.deepEqual(
      [
        roundingDivideByPOT(3, 1),
        roundingDivideByPOT(-3, 1),
        roundingDivideByPOT(5, 2),
        roundingDivideByPOT(6, 2),
        roundingDivideByPOT(-6, 2),
        roundingDivideByPOT(-5, 2),
      ],
      [2, -2, 1, 2, -2, -1],
    );
    assert.equal(saturatingRoundingDoublingHighMul(-2147483648, -2147483648), 2147483647);
    assert.equal(saturatingRoundingDoublingHighMul(2 ** 30, 2 ** 30), 2 ** 29);
    assert.equal(multiplyByQuantizedMultiplier(100, quantizeMultiplier(0.5)), 50);
    assert.equal(multiplyByQuantizedMultiplier(3, quantizeMultiplier(0.5)), 2);
    // gemmlowp's doubling high multiply breaks a negative tie toward zero: -1.5 becomes -1.
    assert.equal(multiplyByQuantizedMultiplier(-3, quantizeMultiplier(0.5)), -1);
    assert.equal(multiplyByQuantizedMultiplier(-5, quantizeMultiplier(0.5)), -2);
    assert.equal(multiplyByQuantizedMultiplier(7, quantizeMultiplier(3)), 21);
  });

  it('rescales accumulators to within one step of the exact product', () => {
    const random = seededRandom(11);
    for (let i = 0; i < 2000; i++) {
      const x = Math.floor((random() - 0.5) * 2 ** 20);
      const real = 10 ** (-4 + 4 * random());
      const got = multiplyByQuantizedMultiplier(x, quantizeMultiplier(real));
      assert.ok(Math.abs(got - x * real) <= 1, `${x} * ${real}: ${got}`);
    }
  });
});
