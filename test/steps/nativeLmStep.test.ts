/**
 * The native LM step against the jitted jax-js LM step (one micro-batch): every gradient, the
 * statistics, parameters and optimizer moments after three steps, with and without attention; and
 * against itself on 1–3 threads, bit for bit. The vocabulary (5,000) spans 20 blocks in 2 groups of the head kernel, and the chunk
 * (16 of 24 tokens) leaves a padded last chunk.
 *
 * The clip (10) is above the gradient norms here: jax-js sums the 80,000 squares of the token table
 * in float32 and its norm is off by about 2e-4, which would scale the clipped updates apart. Our
 * norm is checked against the float64 norm of jax-js's gradients instead.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { numpy as np, tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { spawnNodeWorker } from "../../src/kernels/nodeWorkers.js";
import { initLmModel, type LmModelConfig, type LmModelParams } from "../../src/models/lmModel.js";
import { routerDefaults, type RouterConfig } from "../../src/moe/routers/registry.js";
import { adamw } from "../../src/steps/adamw.js";
import { unpackStepStats } from "../../src/steps/imageStep.js";
import { makeLmGradFn, makeLmTrainStep } from "../../src/steps/lmStep.js";
import { NativeLmStep, nativeLmUnsupported } from "../../src/steps/nativeLmStep.js";
import { assertAllClose, assertTreesClose, lcg, leaves, setup } from "../helpers.js";

await setup();

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const B = 3, S = 8, V = 5000, CHUNK = 16;

function model(kind: "dense" | "moe", router: RouterConfig, experts: number[]): LmModelConfig {
  return { kind, d: 16, h: 32, layers: experts.length || 2, experts, router, vocab: V, context: S, attention: false, heads: 1 };
}

function batch(seed: number) {
  const r = lcg(seed);
  // Some repeated tokens, so the embedding's gradient adds rows.
  return { x: Int32Array.from({ length: B * S }, () => Math.floor(r() * 40) * 97), y: Int32Array.from({ length: B * S }, () => Math.floor(r() * V)) };
}

const CASES: [string, LmModelConfig][] = [
  ["dense", model("dense", routerDefaults("percentile"), [])],
  ["percentile 4-2", model("moe", routerDefaults("percentile"), [4, 2])],
  ["switch (jitter, capacity, aux losses)", model("moe", routerDefaults("switch"), [4, 4])],
  ["aux-free top-2 (balancing bias at γ 0.05)", model("moe", { ...routerDefaults("aux-free"), biasRate: 0.05 }, [4, 3])],
  ["remoe (ReLU gates, L1 at λ 0.05 growing 1.5× per step)", model("moe", { ...routerDefaults("remoe"), l1Init: 0.05, l1Growth: 1.5 }, [4, 3])],
  ["adamoe (null experts, null-aware balancing)", model("moe", { ...routerDefaults("adamoe"), balanceCoef: 0.5 }, [4, 3])],
  ["top-any (trained thresholds)", model("moe", routerDefaults("top-any"), [4, 3])],
  ["percentile with a shared expert", { ...model("moe", routerDefaults("percentile"), [4, 2]), sharedExperts: 1 }],
  ["attention, dense (1 head of 16)", { ...model("dense", routerDefaults("percentile"), []), attention: true, heads: 1 }],
  ["attention, switch 4-4 (d 24, 4 heads of 6)", { ...model("moe", routerDefaults("switch"), [4, 4]), d: 24, attention: true, heads: 4 }],
];

for (const [label, cfg] of CASES) {
  test(`native LM step equals the jitted jax-js LM step: ${label}`, async () => {
    assert.equal(nativeLmUnsupported(cfg), null);
    const opt = adamw(HYPER);
    const params = initLmModel(seedKey(5), cfg);
    const state = opt.init(tree.ref(params));
    const native = await NativeLmStep.create(cfg, B, HYPER, 10, params, state, undefined, CHUNK);
    const jitted = makeLmTrainStep(cfg, opt, 10, { microBatch: B, headChunk: CHUNK });
    const gradFn = makeLmGradFn(cfg, { microBatch: B, headChunk: CHUNK });
    let p = params, s = state;
    for (let t = 0; t < 3; t++) {
      const { x, y } = batch(t);
      const xs = () => np.array(x, { dtype: np.int32 }).reshape([B, S]);
      const expectedGrads = await leaves(await gradFn(p, xs(), np.array(y, { dtype: np.int32 }), seedKey(200 + t)));
      const [p2, s2, packed] = await jitted(p, s, xs(), np.array(y, { dtype: np.int32 }), seedKey(200 + t), np.array(3e-3));
      p = p2;
      s = s2;
      const layers = cfg.kind === "moe" ? cfg.layers : 0;
      const expected = unpackStepStats(await packed.data(), layers);
      const got = unpackStepStats(await native.step(x, y, seedKey(200 + t), 3e-3), layers);
      assertTreesClose(await leaves(native.gradients()), expectedGrads, 2e-4, `step ${t} gradient`);
      assertAllClose(got.active, expected.active, { rtol: 1e-6, atol: 0 }, `step ${t} active experts`);
      assert.equal(got.correct, expected.correct, `step ${t} correct`);
      assertAllClose([got.loss, ...got.routerGradNorm], [expected.loss, ...expected.routerGradNorm], { rtol: 1e-4, atol: 1e-7 }, `step ${t} stats`);
      const exactNorm = Math.sqrt([...expectedGrads.values()].flat().reduce((acc, g) => acc + g * g, 0));
      assertAllClose([got.gradNorm], [exactNorm], { rtol: 1e-5, atol: 0 }, `step ${t} gradient norm (float64 norm of the reference gradients)`);
      assertAllClose([got.gradNorm], [expected.gradNorm], { rtol: 1e-3, atol: 0 }, `step ${t} gradient norm (jax-js, float32)`);
    }
    // AdamW divides by √v, so an element with a tiny gradient (an expert that saw one or two tokens)
    // carries float32 rounding into its update at full size: 1e-3 of each leaf's scale.
    const [gotParams, expectedParams] = [await leaves(native.params()), await leaves(tree.ref(p))];
    if (cfg.attention) {
      // The key bias moves every score of a row by the same q·b, which the softmax ignores: its
      // gradient is 0 but for rounding (checked small here), which AdamW scales up to full-size
      // updates of arbitrary sign in both engines. Its values are left out of the comparison.
      const g = await leaves(native.gradients());
      for (let l = 0; l < cfg.layers; l++) {
        const path = `blocks.${l}.attn.qkv.b`;
        const grad = g.get(path)!, scale = Math.max(...grad.map(Math.abs));
        const keyGrad = grad.slice(cfg.d, 2 * cfg.d);
        assert.ok(Math.max(...keyGrad.map(Math.abs)) < 1e-4 * scale, `${path}: the key bias's gradient is rounding only`);
        for (const t of [gotParams, expectedParams]) t.get(path)!.fill(0, cfg.d, 2 * cfg.d);
      }
    }
    assertTreesClose(gotParams, expectedParams, 1e-3, "parameters after 3 steps");
    const nativeOpt = native.opt();
    assertTreesClose(await leaves(nativeOpt.mu), await leaves(tree.ref(s.mu)), 2e-4, "first moments");
    assertTreesClose(await leaves(nativeOpt.nu), await leaves(tree.ref(s.nu)), 5e-4, "second moments");
    tree.dispose([p, s]);
    native.close();
  });
}

const THREAD_CASES: [string, LmModelConfig][] = [
  ["percentile 4-3", model("moe", routerDefaults("percentile"), [4, 3])],
  ["attention, percentile 4-3 (2 heads of 8)", { ...model("moe", routerDefaults("percentile"), [4, 3]), attention: true, heads: 2 }],
];

for (const [label, cfg] of THREAD_CASES) test(`native LM step on 1, 2 and 3 threads with every call split: bit-identical (${label})`, async () => {
  const run = async (threads: number) => {
    const params = initLmModel(seedKey(9), cfg);
    const state = adamw(HYPER).init(tree.ref(params));
    const native = await NativeLmStep.create(cfg, B, HYPER, 1.0, params, state, { threads, spawn: spawnNodeWorker, minWork: 0, chunksPerThread: 3 }, CHUNK);
    tree.dispose([params, state]);
    const stats: number[][] = [];
    for (let t = 0; t < 3; t++) {
      const { x, y } = batch(10 + t);
      stats.push(Array.from(await native.step(x, y, seedKey(300 + t), 2e-3)));
    }
    const bytes = async (t: LmModelParams) => Buffer.concat([...(await leaves(t)).values()].map((v) => Buffer.from(Float32Array.from(v).buffer)));
    const out = { stats, params: await bytes(native.params()), grads: await bytes(native.gradients()) };
    native.close();
    return out;
  };
  const one = await run(1);
  for (const threads of [2, 3]) {
    const many = await run(threads);
    assert.deepEqual(many.stats, one.stats, `${threads} threads: stats`);
    assert.ok(many.params.equals(one.params), `${threads} threads: parameters`);
    assert.ok(many.grads.equals(one.grads), `${threads} threads: gradients`);
  }
});

test("the native LM step says what it cannot run", () => {
  assert.equal(nativeLmUnsupported({ ...model("dense", routerDefaults("percentile"), []), attention: true, heads: 2 }), null);
  assert.match(nativeLmUnsupported({ ...model("dense", routerDefaults("percentile"), []), d: 12 }) ?? "", /multiple of 8/);
});

test("the native LM step's gradient(): the jitted gradient at the current parameters, and nothing updated (aux-free, remoe)", async () => {
  for (const [label, cfg] of [CASES[3], CASES[4]]) {
    const opt = adamw(HYPER);
    const params = initLmModel(seedKey(6), cfg);
    const state = opt.init(tree.ref(params));
    const a = await NativeLmStep.create(cfg, B, HYPER, 10, params, state, undefined, CHUNK);
    const b = await NativeLmStep.create(cfg, B, HYPER, 10, params, state, undefined, CHUNK);
    const gradFn = makeLmGradFn(cfg, { microBatch: B, headChunk: CHUNK });
    await a.step(batch(0).x, batch(0).y, seedKey(60), 3e-3);
    await b.step(batch(0).x, batch(0).y, seedKey(60), 3e-3);
    const { x, y } = batch(1);
    const expected = await leaves(await gradFn(a.params(), np.array(x, { dtype: np.int32 }).reshape([B, S]), np.array(y, { dtype: np.int32 }), seedKey(61)));
    assertTreesClose(await leaves(await a.gradient(x, y, seedKey(61))), expected, 2e-4, `${label}: gradient`);
    const sa = await a.step(batch(2).x, batch(2).y, seedKey(62), 3e-3);
    const sb = await b.step(batch(2).x, batch(2).y, seedKey(62), 3e-3);
    assert.deepEqual(Array.from(sa), Array.from(sb), `${label}: the step after`);
    assert.deepEqual(await leaves(a.params()), await leaves(b.params()), `${label}: parameters after (the router state included)`);
    tree.dispose([params, state]);
  }
});
