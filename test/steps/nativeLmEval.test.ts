/**
 * The language model's evaluation on our kernels against jax-js's (the jitted trunk and the output
 * layer of `lmEvaluate.ts`): the same loss, perplexity, accuracy, active experts, routing analytics
 * (every count exact) and breakdowns by token frequency and by loss, over 7 sequences in batches of
 * 3 (the last has one), with and without attention, at parameters trained a few steps; and the same
 * numbers on one thread and on three.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { frequencyBuckets } from "../../src/data/text/lmData.js";
import { initLmModel, type LmModelConfig, type LmModelParams } from "../../src/models/lmModel.js";
import { routerDefaults, type RouterConfig } from "../../src/moe/routers/registry.js";
import { adamw } from "../../src/steps/adamw.js";
import { NativeLmStep } from "../../src/steps/nativeLmStep.js";
import { ONE_THREAD, type NativeThreads } from "../../src/steps/nativeStep.js";
import type { EvalResult } from "../../src/train/evaluate.js";
import { makeLmEvaluator } from "../../src/train/lmEvaluate.js";
import { assertAllClose, assertJsonClose, lcg, setup } from "../helpers.js";

await setup();

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const B = 3, S = 8, V = 5000, CHUNK = 16;

function model(kind: "dense" | "moe", router: RouterConfig, experts: number[]): LmModelConfig {
  return { kind, d: 16, h: 32, layers: experts.length || 2, experts, router, vocab: V, context: S, attention: false, heads: 1 };
}

/** A token stream of `n` tokens over a few hundred ids (so the frequency buckets fill), skewed toward small ids. */
function stream(seed: number, n: number): Uint16Array {
  const r = lcg(seed);
  return Uint16Array.from({ length: n }, () => Math.floor(r() * r() * 400) * 11);
}

const CASES: [string, LmModelConfig][] = [
  ["dense", model("dense", routerDefaults("percentile"), [])],
  ["percentile 4-2", model("moe", routerDefaults("percentile"), [4, 2])],
  ["switch at evaluation capacity 0.5 (drops)", model("moe", { ...routerDefaults("switch"), capacityFactorEval: 0.5 }, [4, 4])],
  ["expert choice", model("moe", routerDefaults("expert-choice"), [4, 3])],
  ["adamoe (null experts)", model("moe", routerDefaults("adamoe"), [4, 3])],
  ["remoe (ReLU gates)", model("moe", { ...routerDefaults("remoe"), l1Init: 0.05 }, [4, 3])],
  ["top-2 with a numeric dispatch capacity", { ...model("moe", { ...routerDefaults("topk"), k: 2 }, [4, 3]), capacity: 0.6 }],
  ["attention, dense (1 head of 16)", { ...model("dense", routerDefaults("percentile"), []), attention: true, heads: 1 }],
  ["attention, switch 4-4 (d 24, 4 heads of 6)", { ...model("moe", routerDefaults("switch"), [4, 4]), d: 24, attention: true, heads: 4 }],
];

/** Parameters after 4 native steps at a high learning rate. */
async function trained(cfg: LmModelConfig): Promise<LmModelParams> {
  const params = initLmModel(seedKey(5), cfg);
  const step = await NativeLmStep.create(cfg, B, HYPER, 10, params, adamw(HYPER).init(tree.ref(params)), undefined, CHUNK);
  tree.dispose(params);
  for (let t = 0; t < 4; t++) {
    const tokens = stream(30 + t, B * S + 1);
    await step.step(Int32Array.from(tokens.subarray(0, B * S)), Int32Array.from(tokens.subarray(1)), seedKey(300 + t), 2e-2);
  }
  step.close();
  return step.params();
}

const TEXT = stream(9, 7 * S + 1);
const BUCKETS = frequencyBuckets(stream(8, 2000), V);
const evaluator = (cfg: LmModelConfig, native: NativeThreads | null) => makeLmEvaluator(cfg, { batchSize: B, headChunk: CHUNK, buckets: BUCKETS, native });

function assertLmEvalsEqual(got: EvalResult, want: EvalResult, where: string): void {
  assert.equal(got.n, want.n, `${where}: n`);
  assertAllClose([got.loss, got.perplexity!], [want.loss, want.perplexity!], { rtol: 1e-5, atol: 1e-6 }, `${where}: loss and perplexity`);
  assert.equal(got.accuracy, want.accuracy, `${where}: accuracy`);
  assertAllClose(got.active, want.active, { rtol: 1e-6, atol: 0 }, `${where}: active experts`);
  got.routing.forEach((g, l) => {
    const w = want.routing[l];
    for (const key of ["tokens", "kHist", "load", "droppedTokens", "coactivation", "classUsage", "classTokens"] as const) assert.deepEqual(g[key], w[key], `${where}: layer ${l} ${key}`);
    assertAllClose([g.dropRate, ...g.gateShare, g.entropy], [w.dropRate, ...w.gateShare, w.entropy], { rtol: 1e-4, atol: 1e-6 }, `${where}: layer ${l} rates`);
  });
  assert.equal(got.routing.length, want.routing.length);
  assertJsonClose(got.byFrequency, want.byFrequency, 1e-5, `${where}: by frequency`);
  assertJsonClose(got.byLoss, want.byLoss, 1e-5, `${where}: by loss`);
}

for (const [label, cfg] of CASES) {
  test(`native LM evaluation equals jax-js's: ${label}`, async () => {
    const params = await trained(cfg);
    const jax = evaluator(cfg, null);
    const native = evaluator(cfg, ONE_THREAD);
    try {
      const want = await jax(params, TEXT);
      assert.equal(want.n, 7 * S);
      assertLmEvalsEqual(await native(params, TEXT), want, label);
      if (cfg.kind === "moe") assert.ok(want.byLoss && want.byLoss.length > 0, "a breakdown by loss");
    } finally {
      native.close();
      tree.dispose(params);
    }
  });
}

test("native LM evaluation gives the same numbers on one thread and on three", async () => {
  for (const [label, cfg] of [CASES[1], CASES[8]]) {
    const params = await trained(cfg);
    const one = evaluator(cfg, ONE_THREAD);
    const three = evaluator(cfg, { threads: 3, spawn: spawnNodeWorker, minWork: 0, chunksPerThread: 3 });
    try {
      assert.deepEqual(await three(params, TEXT), await one(params, TEXT), label);
    } finally {
      one.close();
      three.close();
      tree.dispose(params);
    }
  }
});
