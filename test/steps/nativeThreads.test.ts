/**
 * The native step gives bit-identical numbers on any thread count: statistics, gradients,
 * parameters and optimizer moments after a few steps, with every kernel call split (minWork 0, so
 * even shares of a few rows run on the workers, three chunks per thread, claimed by whichever
 * thread is free) and at the default split.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { flattenWithPaths } from "../../src/engine/paramTree.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { initImageModel, type ImageModelConfig, type ImageModelParams } from "../../src/models/imageModel.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { adamw } from "../../src/steps/adamw.js";
import { NativeImageStep } from "../../src/steps/nativeImageStep.js";
import { lcg, setup } from "../helpers.js";

await setup();

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/** Every leaf's bytes, in order. */
async function bytes(t: ImageModelParams): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const [, leaf] of flattenWithPaths(t)) parts.push(Buffer.from(((await leaf.ref.data()) as Float32Array).slice().buffer));
  tree.dispose(t);
  return Buffer.concat(parts);
}

/** Three steps on `threads` threads: the stats of each and the bytes of the state after them. */
async function run(cfg: ImageModelConfig, batch: number, threads: number, minWork?: number) {
  const params = initImageModel(seedKey(3), cfg);
  const state = adamw(HYPER).init(tree.ref(params));
  const native = await NativeImageStep.create(cfg, batch, HYPER, 1.0, params, state, { threads, spawn: spawnNodeWorker, minWork, chunksPerThread: minWork === 0 ? 3 : undefined });
  tree.dispose([params, state]);
  assert.equal(native.threads, threads);
  const r = lcg(11);
  const stats: number[][] = [];
  for (let t = 0; t < 3; t++) {
    const x = Float32Array.from({ length: batch * cfg.inputDim }, () => r() * 2 - 1);
    const y = Int32Array.from({ length: batch }, () => Math.floor(r() * cfg.numClasses));
    stats.push(Array.from(await native.step(x, y, seedKey(50 + t), 2e-3)));
  }
  const out = { stats, grads: await bytes(native.gradients()), params: await bytes(native.params()), mu: await bytes(native.opt().mu) };
  native.close();
  return out;
}

const small = (experts: number[], router = routerDefaults("percentile")): ImageModelConfig => ({
  kind: experts.length ? "moe" : "dense", inputDim: 37, numClasses: 7, d: 20, h: 28, layers: experts.length || 2, experts, router,
});

const CASES: [string, ImageModelConfig, number][] = [
  ["dense", small([]), 30],
  ["percentile 4-3-2", small([4, 3, 2]), 30],
  ["switch (jitter, capacity)", small([4, 4], routerDefaults("switch")), 30],
  ["top-2", small([5, 3], { ...routerDefaults("topk"), k: 2 }), 30],
];

for (const [label, cfg, batch] of CASES) {
  test(`native step on 1, 2 and 3 threads with every call split: bit-identical (${label})`, async () => {
    const one = await run(cfg, batch, 1);
    for (const threads of [2, 3]) {
      const many = await run(cfg, batch, threads, 0);
      assert.deepEqual(many.stats, one.stats, `${threads} threads: stats`);
      assert.ok(many.grads.equals(one.grads), `${threads} threads: gradients`);
      assert.ok(many.params.equals(one.params), `${threads} threads: parameters`);
      assert.ok(many.mu.equals(one.mu), `${threads} threads: first moments`);
    }
  });
}

test("native step at the spec's sizes on 2 threads (default split): bit-identical to 1 thread", async () => {
  const cfg: ImageModelConfig = { kind: "moe", inputDim: 784, numClasses: 10, d: 128, h: 128, layers: 4, experts: [8, 6, 4, 2], router: routerDefaults("percentile") };
  const one = await run(cfg, 64, 1);
  const two = await run(cfg, 64, 2);
  assert.deepEqual(two.stats, one.stats);
  assert.ok(two.params.equals(one.params) && two.grads.equals(one.grads) && two.mu.equals(one.mu));
});
