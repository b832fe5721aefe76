/**
 * The two builds of the kernel module, plain SIMD and relaxed SIMD (fused multiply-add in the matmul
 * tile): both against a float64 product, each bit-identical to itself on 1 and 2 threads, and the
 * choice by `DYNAMOE_SIMD`. The rest of the suite runs whichever the runtime picks (relaxed on Node 20
 * here); `DYNAMOE_SIMD=plain npm test` runs it all on the other.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { Arena, mlpInstance, relaxedSimdAvailable, SIMD_VARIANTS } from "../../src/kernels/mlpKernel.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { mlpPool, parallelKernels } from "../../src/kernels/parallelKernels.js";
import { lcg } from "../helpers.js";

test("relaxed SIMD is available on this Node (set by a V8 flag at run time)", () => {
  assert.equal(relaxedSimdAvailable(), true);
});

for (const variant of SIMD_VARIANTS) {
  test(`${variant} SIMD: matmul against float64, and the same bits on 1 and 2 threads`, async () => {
    const k = mlpInstance(variant);
    assert.equal(k.variant, variant);
    const mem = new Arena(k);
    const R = 37, C = 29, D = 150;
    const A = mem.take(R * D), B = mem.take(D * C), O1 = mem.take(R * C), O2 = mem.take(R * C);
    const start = mlpPool(mem, 2, spawnNodeWorker);
    mem.commit();
    const pool = start()!;
    await pool.ready();
    const r = lcg(3);
    const a = mem.f32(A).map(() => r() * 2 - 1), b = mem.f32(B).map(() => r() * 2 - 1);
    mem.f32(A).set(a);
    mem.f32(B).set(b);
    k.matmul(R, C, D, A.at, D, 1, B.at, C, O1.at, C, 0);
    parallelKernels(k, pool, 0).matmul(R, C, D, A.at, D, 1, B.at, C, O2.at, C, 0);
    const o1 = mem.f32(O1), o2 = mem.f32(O2);
    assert.ok(Buffer.from(o1.slice().buffer).equals(Buffer.from(o2.slice().buffer)), "1 and 2 threads give the same bits");
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        let ref = 0;
        for (let p = 0; p < D; p++) ref += a[i * D + p] * b[p * C + j];
        assert.ok(Math.abs(o1[i * C + j] - ref) <= 1e-5 * Math.sqrt(D), `[${i}, ${j}]: ${o1[i * C + j]} vs ${ref}`);
      }
    }
    pool.close();
  });
}

test("DYNAMOE_SIMD picks the build; a wrong value is an error", () => {
  const probe = (value: string) =>
    spawnSync(process.execPath, ["--import", "tsx", "-e", 'import("./src/kernels/mlpKernel.ts").then((m) => console.log(m.simdVariant()))'], { encoding: "utf8", env: { ...process.env, DYNAMOE_SIMD: value } });
  assert.equal(probe("plain").stdout.trim(), "plain");
  assert.equal(probe("relaxed").stdout.trim(), "relaxed");
  assert.equal(probe("").stdout.trim(), "relaxed");
  assert.match(probe("avx").stderr, /DYNAMOE_SIMD must be plain, relaxed or auto/);
});
