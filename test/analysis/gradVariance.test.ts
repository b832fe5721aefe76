import assert from "node:assert/strict";
import { before, test } from "node:test";
import { grad, jit, numpy as np, random, tree, valueAndGrad } from "../../src/engine/jax.js";
import { trackBuffers } from "../../src/engine/liveBuffers.js";
import { gradVariance, paramGroup, windowVariance } from "../../src/analysis/gradVariance.js";
import { applyImageModel, initImageModel, type ImageModelConfig, type ImageModelParams } from "../../src/models/imageModel.js";
import { applyLmTrunk, initLmModel, lmLogits, type LmModelConfig, type LmModelParams } from "../../src/models/lmModel.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { makeLmGradFn } from "../../src/steps/lmStep.js";
import { flattenWithPaths } from "../../src/engine/paramTree.js";
import { crossEntropy, makeImageGradFn, meanActive, sumAux } from "../../src/steps/imageStep.js";
import { assertAllClose, lcg, read, setup } from "../helpers.js";

before(setup);

// A tiny linear model, y ≈ x·W + b, with squared error: its mini-batch gradients are known in closed
// form, `∂/∂W = (1/B) Σ_i x_iᵀ r_i`, `∂/∂b = (1/B) Σ_i r_i`, `r_i = x_i W + b − t_i`.
const IN = 3;
const OUT = 2;
const B = 4;
type Lin = { w: number[]; b: number[] }; // w row-major [IN, OUT]
type Batch = { x: number[]; t: number[] }; // [B, IN], [B, OUT]

function makeBatches(k: number, seed: number): Batch[] {
  const r = lcg(seed);
  return Array.from({ length: k }, () => ({ x: Array.from({ length: B * IN }, () => 2 * r() - 1), t: Array.from({ length: B * OUT }, () => 2 * r() - 1) }));
}

/** The closed-form gradient of one batch, in float64: `[∂W (row-major), ∂b]`. */
function closedFormGrad(p: Lin, { x, t }: Batch): { w: number[]; b: number[] } {
  const gw = new Array<number>(IN * OUT).fill(0);
  const gb = new Array<number>(OUT).fill(0);
  for (let i = 0; i < B; i++) {
    for (let o = 0; o < OUT; o++) {
      let pred = p.b[o];
      for (let j = 0; j < IN; j++) pred += x[i * IN + j] * p.w[j * OUT + o];
      const res = pred - t[i * OUT + o];
      gb[o] += res / B;
      for (let j = 0; j < IN; j++) gw[j * OUT + o] += (x[i * IN + j] * res) / B;
    }
  }
  return { w: gw, b: gb };
}

/** The slow reference: `(1/(K−1)) Σ_k ‖g_k − ḡ‖²` over flat float64 vectors. */
function traceCov(gs: number[][]): number {
  const k = gs.length;
  const mean = gs[0].map((_, j) => gs.reduce((a, g) => a + g[j], 0) / k);
  return gs.reduce((a, g) => a + g.reduce((s, v, j) => s + (v - mean[j]) ** 2, 0), 0) / (k - 1);
}

const P: Lin = { w: [0.3, -0.2, 0.5, 0.1, -0.4, 0.25], b: [0.05, -0.1] };

function linearGradFn() {
  const loss = (p: { w: np.Array; b: np.Array }, x: np.Array, t: np.Array) => np.square(np.matmul(x, p.w).add(p.b).sub(t)).sum(-1).mean().mul(0.5);
  const g = jit(grad(loss));
  return (batch: Batch) =>
    g({ w: np.array(P.w).reshape([IN, OUT]), b: np.array(P.b) }, np.array(batch.x).reshape([B, IN]), np.array(batch.t).reshape([B, OUT]));
}

test("the trace of the covariance of a linear model's closed-form gradients, per group and in total", async () => {
  for (const k of [2, 3, 8]) {
    const batches = makeBatches(k, 11 + k);
    const exact = batches.map((bt) => closedFormGrad(P, bt));
    const r = await gradVariance(linearGradFn(), batches);
    const w = traceCov(exact.map((g) => g.w));
    const b = traceCov(exact.map((g) => g.b));
    assert.equal(r.k, k);
    assert.deepEqual(Object.keys(r.groups).sort(), ["b", "w"]);
    assertAllClose([r.groups.w, r.groups.b, r.total], [w, b, w + b], { rtol: 1e-4, atol: 1e-9 }, `K=${k}`);
    assert.ok(r.total > 0);
  }
});

test("equal gradients have zero variance; fewer than two batches is an error", async () => {
  const [one] = makeBatches(1, 5);
  const r = await gradVariance(linearGradFn(), [one, one, one]);
  assert.equal(r.total, 0);
  await assert.rejects(gradVariance(linearGradFn(), [one]), /at least 2/);
});

test("a custom grouping sums its leaves' traces", async () => {
  const batches = makeBatches(4, 21);
  const exact = batches.map((bt) => closedFormGrad(P, bt));
  const r = await gradVariance(linearGradFn(), batches, { group: () => "all" });
  assertAllClose([r.groups.all], [traceCov(exact.map((g) => [...g.w, ...g.b]))], { rtol: 1e-4 }, "all");
});

test("parameter groups: per block router / experts / ffn / norm / attn, plus embed, norm, head", () => {
  const cases: [string, string][] = [
    ["blocks.0.moe.router.w", "blocks.0.moe.router"],
    ["blocks.0.moe.w1", "blocks.0.moe.experts"],
    ["blocks.3.moe.b2", "blocks.3.moe.experts"],
    ["blocks.1.ffn.up.w", "blocks.1.ffn"],
    ["blocks.1.norm.scale", "blocks.1.norm"],
    ["blocks.1.attnNorm.bias", "blocks.1.norm"],
    ["blocks.2.attn.qkv.w", "blocks.2.attn"],
    ["embed.w", "embed"],
    ["embed.tokens", "embed"],
    ["norm.scale", "norm"],
    ["head.b", "head"],
  ];
  for (const [path, group] of cases) assert.equal(paramGroup(path), group, path);
});

test("loss variance over a window: sample variance of the last values, null below two", () => {
  assert.equal(windowVariance([], 20), null);
  assert.equal(windowVariance([3], 20), null);
  assert.equal(windowVariance([1, 3], 20), 2);
  // last 3 of [10, 1, 2, 3]: mean 2, squares 1 + 0 + 1, / 2
  assert.equal(windowVariance([10, 1, 2, 3], 3), 1);
});

const imageCfg: ImageModelConfig = { kind: "moe", inputDim: 12, numClasses: 3, d: 8, h: 8, layers: 2, experts: [4, 2], router: routerDefaults("topk"), dispatch: "dense" };

test("the image gradient function is autodiff of the training loss (aux included), and leaves params alone", async () => {
  const params = initImageModel(random.key(1), imageCfg);
  const r = lcg(3);
  const xs = Array.from({ length: 6 * 12 }, () => r() * 2 - 1);
  const ys = [0, 1, 2, 0, 1, 2];
  const mk = () => [np.array(xs).reshape([6, 12]), np.array(ys, { dtype: np.int32 })] as const;
  const ref = (p: ImageModelParams, x: np.Array, y: np.Array, key: np.Array) => {
    const { logits, routings } = applyImageModel(p, x, imageCfg, { train: true, key });
    const aux = sumAux(routings);
    meanActive(routings).dispose();
    return crossEntropy(logits, y).add(aux);
  };
  const [rx, ry] = mk();
  const [value, expected] = valueAndGrad(ref)(tree.ref(params), rx, ry, random.key(7));
  value.dispose();
  const [gx, gy] = mk();
  const actual = new Map(flattenWithPaths(makeImageGradFn(imageCfg)(params, gx, gy, random.key(7))));
  for (const [path, leaf] of flattenWithPaths(expected)) assertAllClose(await read(actual.get(path)!), await read(leaf), { rtol: 1e-4, atol: 1e-6 }, path);
  assert.equal((await read(params.head.b.ref)).length, 3, "params still alive");
  tree.dispose(params);
});

test("the language model's gradient function (trunk + chunked head) is autodiff of the full loss", async () => {
  const V = 29;
  const cfg: LmModelConfig = { kind: "moe", vocab: V, context: 5, d: 8, h: 16, layers: 2, experts: [4, 2], router: routerDefaults("switch"), attention: false, heads: 2, dispatch: "dense" };
  const params = initLmModel(random.key(2), cfg);
  const x = Int32Array.from({ length: 2 * 5 }, (_, i) => (i * 7 + 1) % V);
  const y = Int32Array.from({ length: 2 * 5 }, (_, i) => (i * 5 + 2) % V);
  const ref = (p: LmModelParams, xa: np.Array, ya: np.Array, key: np.Array) => {
    const { hidden, routings } = applyLmTrunk(p, xa, cfg, { train: true, key });
    const logits = lmLogits(p, hidden);
    tree.dispose(p);
    const aux = sumAux(routings);
    meanActive(routings).dispose();
    return crossEntropy(logits, ya).add(aux);
  };
  const [value, expected] = valueAndGrad(ref)(tree.ref(params), np.array(x, { dtype: np.int32 }).reshape([2, 5]), np.array(y, { dtype: np.int32 }), random.key(4));
  value.dispose();
  const gradFn = makeLmGradFn(cfg, { headChunk: 3, microBatch: 2 });
  const actual = new Map(flattenWithPaths(await gradFn(params, np.array(x, { dtype: np.int32 }).reshape([2, 5]), np.array(y, { dtype: np.int32 }), random.key(4))));
  for (const [path, leaf] of flattenWithPaths(expected)) assertAllClose(await read(actual.get(path)!), await read(leaf), { rtol: 1e-4, atol: 1e-6 }, path);
  tree.dispose(params);
});

test("a measurement on the image model names every group, sums to the total, and leaks no buffers", async () => {
  const params = initImageModel(random.key(1), imageCfg);
  const gradFn = makeImageGradFn(imageCfg);
  const r = lcg(9);
  const batches = Array.from({ length: 3 }, (_, i) => ({ x: Array.from({ length: 6 * 12 }, () => r() * 2 - 1), y: [0, 1, 2, 2, 1, i % 3], key: i }));
  const run = () =>
    gradVariance((b: (typeof batches)[number]) => gradFn(params, np.array(b.x).reshape([6, 12]), np.array(b.y, { dtype: np.int32 }), random.key(b.key)), batches);
  await run(); // compile first: the compiled programs keep their constants
  const tracker = await trackBuffers();
  const result = await run();
  const live = tracker.live();
  tracker.stop();
  assert.equal(live, 0, "live buffers after a measurement");
  assert.deepEqual(Object.keys(result.groups).sort(), [
    "blocks.0.moe.experts",
    "blocks.0.moe.router",
    "blocks.0.norm",
    "blocks.1.moe.experts",
    "blocks.1.moe.router",
    "blocks.1.norm",
    "embed",
    "head",
    "norm",
  ]);
  const sum = Object.values(result.groups).reduce((a, b) => a + b, 0);
  assertAllClose([result.total], [sum], { rtol: 1e-12 }, "total");
  assert.ok(Object.values(result.groups).every((v) => v >= 0) && result.total > 0);
  tree.dispose(params);
});
