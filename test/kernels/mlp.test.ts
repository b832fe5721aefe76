import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Arena, mlpInstance, mlpKernelSourceSha256 } from "../../src/kernels/mlpKernel.js";
import { assertAllClose, lcg } from "../helpers.js";

test("the embedded MLP wasm was built from the committed C source (rebuild: sh scripts/build-kernels.sh)", () => {
  const read = (name: string) => readFileSync(new URL(`../../src/kernels/${name}`, import.meta.url));
  assert.equal(createHash("sha256").update(read("mlp.c")).update(read("lmHead.c")).update(read("attention.c")).update(read("threefry.c")).update(read("simd.h")).digest("hex"), mlpKernelSourceSha256);
});

function floats(n: number, seed: number): Float32Array {
  const r = lcg(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

// 7 rows: one 4-row tile and three 1-row tiles; 13 columns: one 8-wide panel and a zero-padded one of
// 5; depth 300: three packed blocks of at most 128.
for (const [label, transposedA, transposedB] of [["A·B", false, false], ["Aᵀ·B (strided A)", true, false], ["A·Bᵀ (matmul_t)", false, true], ["Aᵀ·Bᵀ", true, true]] as const) {
  test(`${label} matches a float64 reference, overwriting and accumulating`, () => {
    const [rows, cols, depth] = [7, 13, 300];
    const mem = new Arena(mlpInstance());
    const a = mem.take(rows * depth), b = mem.take(depth * cols), out = mem.take(rows * cols);
    mem.commit();
    const av = floats(rows * depth, 1), bv = floats(depth * cols, 2), init = floats(rows * cols, 3);
    mem.f32(a).set(av);
    mem.f32(b).set(bv);
    // A[i, p] stored at i·depth + p, or (transposed) at p·rows + i.
    const aAt = (i: number, p: number) => (transposedA ? av[p * rows + i] : av[i * depth + p]);
    // B[p, j] stored at p·cols + j, or (transposed, [cols, depth]) at j·depth + p.
    const bAt = (p: number, j: number) => (transposedB ? bv[j * depth + p] : bv[p * cols + j]);
    const [ai, ap] = transposedA ? [1, rows] : [depth, 1];
    for (const accumulate of [0, 1]) {
      mem.f32(out).set(init);
      if (transposedB) mem.k.matmul_t(rows, cols, depth, a.at, ai, ap, b.at, depth, out.at, cols, accumulate);
      else mem.k.matmul(rows, cols, depth, a.at, ai, ap, b.at, cols, out.at, cols, accumulate);
      const expected = Array.from({ length: rows * cols }, (_, k) => {
        const [i, j] = [Math.floor(k / cols), k % cols];
        let s = accumulate ? init[k] : 0;
        for (let p = 0; p < depth; p++) s += aAt(i, p) * bAt(p, j);
        return s;
      });
      assertAllClose(Array.from(mem.f32(out)), expected, { rtol: 1e-5, atol: 1e-4 }, `accumulate=${accumulate}`);
    }
  });
}

test("gelu and its derivative match the tanh formula in float64, on the SIMD body and the scalar tail", () => {
  const n = 4 * 64 + 3;
  const mem = new Arena(mlpInstance());
  const x = mem.take(n), y = mem.take(n), dy = mem.take(n), dx = mem.take(n);
  mem.commit();
  const xv = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
  mem.f32(x).set(xv);
  mem.f32(dy).fill(1);
  mem.k.gelu_forward(x.at, y.at, n);
  mem.k.gelu_backward(x.at, dy.at, dx.at, n);
  const c = Math.sqrt(2 / Math.PI);
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3)));
  const grad = (v: number) => (gelu(v + 1e-6) - gelu(v - 1e-6)) / 2e-6;
  assertAllClose(Array.from(mem.f32(y)), Array.from(xv, gelu), { rtol: 1e-5, atol: 1e-6 }, "gelu");
  assertAllClose(Array.from(mem.f32(dx)), Array.from(xv, grad), { rtol: 1e-4, atol: 1e-5 }, "gelu'");
});
