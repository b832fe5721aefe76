/**
 * The image evaluation on our kernels against jax-js's jitted evaluation pass, for every routing
 * rule and option the native engine runs: the same loss, accuracy, active experts and routing
 * analytics (every count exact: k-histograms, loads, drops, co-activation, usage per class) over a
 * split whose last batch is smaller, at parameters trained a few steps so that routing is uneven;
 * and the same numbers on one thread and on three.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { initImageModel, type ImageModelConfig, type ImageModelParams } from "../../src/models/imageModel.js";
import { adamw } from "../../src/steps/adamw.js";
import { NativeImageStep } from "../../src/steps/nativeImageStep.js";
import { ONE_THREAD } from "../../src/steps/nativeStep.js";
import { makeEvaluator } from "../../src/train/evaluate.js";
import type { EvalResult } from "../../src/train/evaluate.js";
import { assertAllClose, lcg, setup } from "../helpers.js";
import { NATIVE_IMAGE_CASES } from "./nativeImageCases.js";

await setup();

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
/** 110 images in batches of 40: 40, 40, 30. */
const N = 110, EVAL_BATCH = 40, TRAIN_BATCH = 24;

function images(seed: number, n: number) {
  const r = lcg(seed);
  return { x: Float32Array.from({ length: n * 20 }, () => r() * 2 - 1), y: Uint8Array.from({ length: n }, () => Math.floor(r() * 5)), n };
}

/** Parameters after 5 native training steps at a high learning rate, so that routers have moved from their start. */
async function trained(cfg: ImageModelConfig): Promise<ImageModelParams> {
  const params = initImageModel(seedKey(3), cfg);
  const step = await NativeImageStep.create(cfg, TRAIN_BATCH, HYPER, 1.0, params, adamw(HYPER).init(tree.ref(params)));
  tree.dispose(params);
  for (let t = 0; t < 5; t++) {
    const { x, y } = images(50 + t, TRAIN_BATCH);
    await step.step(x, Int32Array.from(y), seedKey(200 + t), 2e-2);
  }
  step.close();
  return step.params();
}

function assertEvalsEqual(got: EvalResult, want: EvalResult, where: string): void {
  assert.equal(got.n, want.n, `${where}: n`);
  assertAllClose([got.loss], [want.loss], { rtol: 1e-5, atol: 1e-6 }, `${where}: loss`);
  assert.equal(got.accuracy, want.accuracy, `${where}: accuracy`);
  assertAllClose(got.active, want.active, { rtol: 1e-6, atol: 0 }, `${where}: active experts`);
  assert.equal(got.routing.length, want.routing.length, `${where}: MoE layers`);
  got.routing.forEach((g, l) => {
    const w = want.routing[l];
    for (const key of ["experts", "tokens", "kHist", "load", "droppedTokens", "noExpertTokens", "coactivation", "classUsage", "classTokens"] as const)
      assert.deepEqual(g[key], w[key], `${where}: layer ${l} ${key}`);
    assertAllClose([g.dropRate, g.meanActive, g.imbalanceMaxMean, g.flopsPerToken], [w.dropRate, w.meanActive, w.imbalanceMaxMean, w.flopsPerToken], { rtol: 1e-6, atol: 0 }, `${where}: layer ${l} rates`);
    assertAllClose([...g.gateShare, g.entropy], [...w.gateShare, w.entropy], { rtol: 1e-4, atol: 1e-6 }, `${where}: layer ${l} gate shares and entropy`);
  });
}

for (const [label, cfg] of NATIVE_IMAGE_CASES) {
  test(`native image evaluation equals jax-js's evaluation pass: ${label}`, async () => {
    const params = await trained(cfg);
    const split = images(9, N);
    const jax = makeEvaluator(cfg, EVAL_BATCH);
    const native = makeEvaluator(cfg, EVAL_BATCH, ONE_THREAD);
    try {
      const want = await jax(params, split);
      const got = await native(params, split);
      assertEvalsEqual(got, want, label);
      if (process.env.DYNAMOE_SHOW) console.log(label, want.routing.map((r) => [r.dropRate, r.droppedTokens, r.kHist.join(" ")]));
      // A second evaluation at other parameters reloads them.
      const other = initImageModel(seedKey(11), cfg);
      assertEvalsEqual(await native(other, split), await jax(other, split), `${label}, other parameters`);
      tree.dispose(other);
    } finally {
      native.close();
      tree.dispose(params);
    }
  });
}

test("native image evaluation gives the same numbers on one thread and on three", async () => {
  for (const [label, cfg] of [NATIVE_IMAGE_CASES[1], NATIVE_IMAGE_CASES[4], NATIVE_IMAGE_CASES[12]]) {
    const params = await trained(cfg);
    const split = images(9, N);
    const one = makeEvaluator(cfg, EVAL_BATCH, ONE_THREAD);
    const three = makeEvaluator(cfg, EVAL_BATCH, { threads: 3, spawn: spawnNodeWorker, minWork: 0, chunksPerThread: 3 });
    try {
      assert.deepEqual(await three(params, split), await one(params, split), label);
    } finally {
      one.close();
      three.close();
      tree.dispose(params);
    }
  }
});
