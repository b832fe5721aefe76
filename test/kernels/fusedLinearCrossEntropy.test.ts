import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fusedHeadOnHost, kernelSourceSha256 } from "../../src/kernels/fusedLinearCrossEntropy.js";
import { assertAllClose } from "../helpers.js";

/** The head in float64, by definition: z = h Eᵀ, ℓ = logsumexp(z) − z[y], G = s·(softmax(z) − onehot(y)). */
function reference(table: Float32Array, v: number, d: number, hidden: Float32Array, y: Int32Array, s: number) {
  const t = y.length;
  const losses = new Float64Array(t), dh = new Float64Array(t * d), dE = new Float64Array(v * d);
  for (let i = 0; i < t; i++) {
    const z = new Float64Array(v);
    for (let r = 0; r < v; r++) for (let k = 0; k < d; k++) z[r] += hidden[i * d + k] * table[r * d + k];
    const m = Math.max(...z);
    let sum = 0;
    for (let r = 0; r < v; r++) sum += Math.exp(z[r] - m);
    losses[i] = Math.log(sum) + m - z[y[i]];
    for (let r = 0; r < v; r++) {
      const g = s * (Math.exp(z[r] - m) / sum - (r === y[i] ? 1 : 0));
      for (let k = 0; k < d; k++) {
        dh[i * d + k] += g * table[r * d + k];
        dE[r * d + k] += g * hidden[i * d + k];
      }
    }
  }
  return { losses, dh, dE };
}

/** Deterministic pseudo-random floats in [-a, a). */
function floats(n: number, seed: number, a: number): Float32Array {
  let x = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return (x / 2 ** 32 - 0.5) * 2 * a;
  });
}

test("the embedded wasm was built from the committed C source (rebuild: sh scripts/build-kernels.sh)", () => {
  const read = (name: string) => readFileSync(new URL(`../../src/kernels/${name}`, import.meta.url));
  const hash = createHash("sha256").update(read("linearCrossEntropy.c")).update(read("simd.h"));
  assert.equal(hash.digest("hex"), kernelSourceSha256);
});

// V = 203 leaves 3 rows for the 1×8 tiles; T = 70 is a full chunk of 64 plus 6 padded to 8.
for (const [label, v, d, t, a] of [["moderate logits", 203, 16, 70, 1], ["logits up to ±100 (exp underflow)", 203, 8, 70, 3.5]] as const) {
  test(`the fused kernel matches a float64 reference: ${label}`, () => {
    const table = floats(v * d, 1, a), hidden = floats(t * d, 2, a);
    const y = Int32Array.from({ length: t }, (_, i) => (i * 37 + 5) % v);
    const s = 1 / t;
    const ref = reference(table, v, d, hidden, y, s);
    const out = fusedHeadOnHost(table, v, d, hidden, y, { grad: true, scale: s });
    assertAllClose(Array.from(out.losses), Array.from(ref.losses), { rtol: 2e-5, atol: 2e-5 }, "losses");
    const scaleOf = (xs: Float64Array) => Math.max(...xs.map(Math.abs));
    assertAllClose(Array.from(out.dHidden!), Array.from(ref.dh), { rtol: 1e-4, atol: 1e-5 * scaleOf(ref.dh) }, "∂L/∂h");
    assertAllClose(Array.from(out.dTable!), Array.from(ref.dE), { rtol: 1e-4, atol: 1e-5 * scaleOf(ref.dE) }, "∂L/∂E");
    const noGrad = fusedHeadOnHost(table, v, d, hidden, y, { scale: s });
    assert.deepEqual(noGrad.losses, out.losses, "the forward pass does not depend on grad");
    assert.equal(noGrad.dHidden, undefined);
  });
}

test("the fused kernel refuses a target outside the vocabulary and a width it cannot tile", () => {
  const table = floats(10 * 8, 3, 1), hidden = floats(2 * 8, 4, 1);
  assert.throws(() => fusedHeadOnHost(table, 10, 8, hidden, Int32Array.from([1, 10])), /target 10 outside the vocabulary/);
  assert.throws(() => fusedHeadOnHost(floats(10 * 6, 3, 1), 10, 6, floats(12, 4, 1), Int32Array.from([1, 2])), /not a multiple of 8/);
});
