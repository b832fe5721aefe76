import assert from "node:assert/strict";
import { test } from "node:test";
import { Arena, mlpInstance } from "../../src/kernels/mlpKernel.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { MAX_CHUNKS_PER_THREAD } from "../../src/kernels/kernelPool.js";
import { mlpPool, parallelKernels, splitRanges } from "../../src/kernels/parallelKernels.js";

test("splitRanges: disjoint, covering, aligned starts, as even as the alignment allows", () => {
  for (const [total, parts, align] of [[10, 3, 4], [128, 2, 4], [7, 5, 1], [0, 2, 4], [3, 4, 4], [1001, 3, 4]]) {
    const r = splitRanges(total, parts, align);
    assert.equal(r.length, parts);
    let at = 0;
    for (const [s, e] of r) {
      assert.equal(s, at, `${total}/${parts}/${align}: contiguous`);
      assert.ok(e >= s && (s % align === 0 || s === total), `${total}/${parts}/${align}: aligned start`);
      at = e;
    }
    assert.equal(at, total);
    const sizes = r.map(([s, e]) => e - s).filter((n) => n > 0);
    if (sizes.length > 1) assert.ok(Math.max(...sizes) - Math.min(...sizes) <= align, `${total}/${parts}/${align}: even`);
  }
});

test("the pool: every kernel split over 3 threads writes exactly what one thread writes; a worker's trap is an error, not a hang", () => {
  const k = mlpInstance();
  const mem = new Arena(k);
  const R = 45, C = 19, D = 33, W = 2 * 8 * 9 + 3; // W: columns enough for 9 shares of two panels and a partial one
  const A = mem.take(R * D), B = mem.take(Math.max(D * C, 5 * W)), O1 = mem.take(7 * W), O2 = mem.take(7 * W), S = mem.take(64);
  const start = mlpPool(mem, 3, spawnNodeWorker);
  mem.commit();
  const pool = start()!;
  const par = parallelKernels(k, pool, 0, 3); // 9 chunks on 3 threads
  const a = mem.f32(A), b = mem.f32(B);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 1.3);
  for (let i = 0; i < b.length; i++) b[i] = Math.cos(i * 0.7);
  const same = (what: string) => assert.ok(Buffer.from(mem.f32(O1).slice().buffer).equals(Buffer.from(mem.f32(O2).slice().buffer)), what);
  const both = (what: string, f: (kk: typeof par, out: number) => void) => {
    const inputs = mem.f32(A).slice(); // adamw updates its moments in place: both calls start from the same ones
    mem.f32(O1).fill(0.5);
    mem.f32(O2).fill(0.5);
    f(k, O1.at);
    mem.f32(A).set(inputs);
    f(par, O2.at);
    same(what);
  };
  both("matmul", (kk, o) => kk.matmul(R, C, D, A.at, D, 1, B.at, C, o, C, 1));
  both("matmul of a transposed left operand", (kk, o) => kk.matmul(R, C, D, A.at, 1, R, B.at, C, o, C, 0));
  both("matmul_t", (kk, o) => kk.matmul_t(R, C, D, A.at, D, 1, B.at, D, o, C, 0));
  // Few rows and many columns: split by panels of columns (the last one partial).
  both("matmul split by columns", (kk, o) => kk.matmul(7, W, 5, A.at, 5, 1, B.at, W, o, W, 1));
  both("matmul_t split by columns", (kk, o) => kk.matmul_t(7, W, 4, A.at, 4, 1, B.at, 4, o, W, 0));
  both("matmul of a transposed left operand, split by columns", (kk, o) => kk.matmul(6, W, 5, A.at, 1, 6, B.at, W, o, W, 0));
  both("gelu_forward", (kk, o) => kk.gelu_forward(A.at, o, R * C - 3));
  both("layernorm_forward", (kk, o) => kk.layernorm_forward(A.at, B.at, B.at + 64, 9, C, 1e-5, o, A.at + 4 * 1000, S.at));
  both("adamw", (kk, o) => kk.adamw(o, A.at, A.at + 4 * 400, A.at + 4 * 800, 399, 1e-3, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001, 1));
  both("mul, accumulating", (kk, o) => kk.mul(A.at, B.at, o, R * C - 1, 1));
  both("threefry_uniform", (kk, o) => kk.threefry_uniform(0x9e3779b9, 0xdeadbeef, 5, R * C - 2, 0.99, Math.fround(0.02), o));
  // A share that reads far outside the memory traps on its worker: the caller gets an error.
  assert.throws(() => pool.run("zero", [null, [0x7ffffff0, 64], null]), /zero failed on chunk 1/);
  par.zero(O2.at, 8); // the pool still serves calls after a failure
  pool.close();
  assert.throws(() => pool.run("zero", [null, null, null]), /closed/);
});

test("the pool: a call finishes when no worker ever runs (the caller claims every chunk), with what one thread writes", () => {
  const k = mlpInstance();
  const mem = new Arena(k);
  const R = 37, C = 11, D = 29;
  const A = mem.take(R * D), B = mem.take(D * C), O1 = mem.take(R * C), O2 = mem.take(R * C);
  // Workers that never start: a pool with a fixed share per thread would wait for them forever.
  const start = mlpPool(mem, 4, () => ({ stop() {} }));
  mem.commit();
  const pool = start()!;
  const par = parallelKernels(k, pool, 0, MAX_CHUNKS_PER_THREAD);
  mem.f32(A).forEach((_, i, a) => (a[i] = Math.sin(i * 0.9)));
  mem.f32(B).forEach((_, i, b) => (b[i] = Math.cos(i * 0.4)));
  k.matmul(R, C, D, A.at, D, 1, B.at, C, O1.at, C, 0);
  par.matmul(R, C, D, A.at, D, 1, B.at, C, O2.at, C, 0);
  assert.ok(Buffer.from(mem.f32(O1).slice().buffer).equals(Buffer.from(mem.f32(O2).slice().buffer)));
  assert.throws(() => pool.run("zero", Array.from({ length: 4 * MAX_CHUNKS_PER_THREAD + 1 }, () => null)), /chunks, at most/);
  assert.throws(() => parallelKernels(k, pool, 0, MAX_CHUNKS_PER_THREAD + 1), /chunksPerThread must be/);
  pool.close();
});
