import assert from "node:assert/strict";
import { before, test } from "node:test";
import { jit, numpy as np, random, tree, valueAndGrad } from "../../src/engine/jax.js";
import { applyLmTrunk, initLmModel, lmLogits, type LmModelConfig, type LmModelParams } from "../../src/models/lmModel.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { adamw, type AdamW, type AdamWState } from "../../src/steps/adamw.js";
import { makeLmTrainStep, microBatchFor } from "../../src/steps/lmStep.js";
import { flattenWithPaths, mapWithPaths } from "../../src/engine/paramTree.js";
import { clipAndUpdate, crossEntropy, meanActive, sumAux } from "../../src/steps/imageStep.js";
import { assertAllClose, read, setup } from "../helpers.js";

before(setup);

const B = 2;
const S = 6;
const V = 41;

function config(kind: "dense" | "moe", router: "percentile" | "switch", attention: boolean): LmModelConfig {
  return { kind, vocab: V, context: S, d: 8, h: 16, layers: 2, experts: kind === "moe" ? [4, 2] : [], router: routerDefaults(router), attention, heads: 2, dispatch: "dense" };
}

/**
 * Plain SGD in AdamW's clothes: the new parameters differ from the old by exactly lr·gradient, so
 * comparing them compares gradients. (AdamW would magnify float noise in gradients that are zero in
 * exact arithmetic, such as attention's key bias, to ±lr.)
 */
const sgd: AdamW = {
  init: (params) => adamw().init(params),
  update: (grads, state, params, lr) => {
    const next = mapWithPaths(params, (_p, x, g) => x.sub(g.mul(lr.ref)), grads); // consumes params and grads
    lr.dispose();
    return [next, state];
  },
};

/** The reference: plain autodiff of the full loss (logits materialised), then the same clip and AdamW. */
function referenceStep(cfg: LmModelConfig, clip: number) {
  const opt = sgd;
  const loss = (params: LmModelParams, x: np.Array, y: np.Array, key: np.Array) => {
    const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: true, key });
    const logits = lmLogits(params, hidden);
    tree.dispose(params);
    const aux = sumAux(routings);
    meanActive(routings).dispose();
    return crossEntropy(logits, y).add(aux);
  };
  return {
    opt,
    step: jit((params: LmModelParams, state: AdamWState<LmModelParams>, x: np.Array, y: np.Array, key: np.Array, lr: np.Array) => {
      const [value, grads] = valueAndGrad(loss)(tree.ref(params), x, y, key);
      const next = clipAndUpdate(grads, state, params, lr, opt, clip);
      next.gradNorm.dispose();
      next.routerGradNorm.dispose();
      return [next.params, next.state, value] as [LmModelParams, AdamWState<LmModelParams>, np.Array];
    }),
  };
}

for (const [kind, router, attention, clip] of [
  ["dense", "percentile", false, 0],
  ["moe", "percentile", true, 1],
  ["moe", "switch", false, 0.05],
] as const) {
  test(`the split step (trunk, chunked head, surrogate backward) moves the parameters exactly as autodiff of the full loss: ${kind} ${kind === "moe" ? router : ""} attention=${attention} clip=${clip}`, async () => {
    const cfg = config(kind, router, attention);
    const ref = referenceStep(cfg, clip);
    const params = initLmModel(random.key(3), cfg);
    const x = Int32Array.from({ length: B * S }, (_, i) => (i * 7 + 1) % V);
    const y = Int32Array.from({ length: B * S }, (_, i) => (i * 5 + 2) % V);
    const lr = 0.5;
    const mk = () => [np.array(x, { dtype: np.int32 }).reshape([B, S]), np.array(y, { dtype: np.int32 })] as const;
    const [rx, ry] = mk();
    const [refParams, refState, refLoss] = ref.step(tree.ref(params), ref.opt.init(params), rx, ry, random.key(9), np.array(lr));
    const step = makeLmTrainStep(cfg, sgd, clip, { headChunk: 5, microBatch: B }); // chunks of 5 tokens: uneven
    const [sx, sy] = mk();
    const [newParams, newState, stats] = await step(params, sgd.init(params), sx, sy, random.key(9), np.array(lr));
    assertAllClose((await read(stats)).slice(0, 1), await read(refLoss), { rtol: 1e-5 }, "loss");
    const expected = flattenWithPaths(refParams);
    const actual = new Map(flattenWithPaths(newParams));
    for (const [path, leaf] of expected) {
      assertAllClose(await read(actual.get(path)!.ref), await read(leaf.ref), { rtol: 1e-4, atol: 1e-6 }, path);
    }
    tree.dispose([refParams, refState, newParams, newState]);
  });
}

test("micro-batches of one sequence give the same step as the whole batch (dense with attention: no router noise or auxiliary loss)", async () => {
  const cfg: LmModelConfig = { ...config("dense", "percentile", true) };
  const params = initLmModel(random.key(4), cfg);
  const x = Int32Array.from({ length: B * S }, (_, i) => (i * 11 + 3) % V);
  const y = Int32Array.from({ length: B * S }, (_, i) => (i * 13 + 1) % V);
  const run = (microBatch: number) =>
    makeLmTrainStep(cfg, sgd, 1, { headChunk: 4, microBatch })(tree.ref(params), sgd.init(params), np.array(x, { dtype: np.int32 }).reshape([B, S]), np.array(y, { dtype: np.int32 }), random.key(1), np.array(0.5));
  const [whole, wholeState, wholeStats] = await run(B);
  const [micro, microState, microStats] = await run(1);
  assertAllClose((await read(microStats)).slice(0, 3), (await read(wholeStats)).slice(0, 3), { rtol: 1e-5 }, "loss, grad norm, correct");
  const actual = new Map(flattenWithPaths(micro));
  for (const [path, leaf] of flattenWithPaths(whole)) assertAllClose(await read(actual.get(path)!.ref), await read(leaf.ref), { rtol: 1e-4, atol: 1e-6 }, path);
  tree.dispose([params, whole, wholeState, micro, microState]);
});

test("microBatchFor keeps the trunk's backward within budget: the whole batch for Tiny, smaller for Small and Medium", async () => {
  const { resolveConfig } = await import("../../src/train/config.js");
  const { lmModelConfigFor } = await import("../../src/train/lmTask.js");
  const micro = (scale: "tiny" | "small" | "medium") => microBatchFor(lmModelConfigFor(resolveConfig({ task: "lm", scale }), 50257), 32, 128);
  assert.equal(micro("tiny"), 32);
  assert.equal(micro("small"), 16);
  assert.equal(micro("medium"), 4);
});
