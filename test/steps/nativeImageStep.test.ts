import assert from "node:assert/strict";
import { test } from "node:test";
import { numpy as np, tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { initImageModel, type ImageModelConfig } from "../../src/models/imageModel.js";
import { type RouterConfig } from "../../src/moe/routers/registry.js";
import { ROUTER_KINDS, routerDefaults } from "../../src/moe/routers/registry.js";
import { NativeImageStep, nativeImageUnsupported } from "../../src/steps/nativeImageStep.js";
import { adamw } from "../../src/steps/adamw.js";
import { makeImageGradFn, makeTrainStep, unpackStepStats } from "../../src/steps/imageStep.js";
import { assertAllClose, assertTreesClose, lcg, leaves, setup } from "../helpers.js";

await setup();

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const B = 24;

function model(kind: "dense" | "moe", router: RouterConfig, experts: number[]): ImageModelConfig {
  return { kind, inputDim: 20, numClasses: 5, d: 16, h: 24, layers: experts.length || 2, experts, router };
}

function batch(seed: number) {
  const r = lcg(seed);
  return { x: Float32Array.from({ length: B * 20 }, () => r() * 2 - 1), y: Int32Array.from({ length: B }, () => Math.floor(r() * 5)) };
}

const CASES: [string, ImageModelConfig][] = [
  ["dense", model("dense", routerDefaults("percentile"), [])],
  ["percentile, 4-3-2 experts (one token per expert at N = 2)", model("moe", routerDefaults("percentile"), [4, 3, 2])],
  ["top-2 with softmax-of-gates weights", model("moe", { ...routerDefaults("topk"), k: 2, renormalize: "softmax-of-gates" }, [4, 4])],
  ["threshold 0.3, no noise", model("moe", { ...routerDefaults("threshold"), threshold: 0.3, noise: 0 }, [5, 3])],
  // B = 24 over 4 experts: C = max(4, ⌈1.25·24/4⌉) = 8, so crowded experts drop tokens.
  ["switch (jitter, capacity, balancing and z-losses)", model("moe", routerDefaults("switch"), [4, 4])],
  ["switch at capacity 4 with a strong balancing loss", model("moe", { ...routerDefaults("switch"), capacityFactorTrain: 0.5, balanceCoef: 0.5, zLossCoef: 0.1 }, [6, 2])],
  ["percentile with input jitter and noise (two draws per layer)", model("moe", { ...routerDefaults("percentile"), jitter: 0.05 }, [4, 4])],
  ["per-layer routers: Switch, then top-1", { ...model("moe", routerDefaults("percentile"), [4, 3]), layerRouters: [routerDefaults("switch"), { ...routerDefaults("topk"), k: 1 }] }],
  ["GShard (second-expert draw, capacity, aux losses)", model("moe", { ...routerDefaults("gshard"), capacityFactorTrain: 0.75 }, [4, 3])],
  ["expert choice", model("moe", routerDefaults("expert-choice"), [4, 3])],
  ["top-p with its entropy loss", model("moe", { ...routerDefaults("top-p"), entropyCoef: 0.05 }, [5, 3])],
  ["batch-percentile", model("moe", routerDefaults("batch-percentile"), [4, 4])],
  ["aux-free top-2 (balancing bias at γ 0.05)", model("moe", { ...routerDefaults("aux-free"), biasRate: 0.05 }, [4, 4])],
  ["remoe (ReLU gates, L1 at λ 0.05 growing 1.5× per step)", model("moe", { ...routerDefaults("remoe"), l1Init: 0.05, l1Growth: 1.5 }, [4, 3])],
  ["adamoe (top-4 over 4 real and 4 null experts, then 3 and 2, strong null-aware balancing)", model("moe", { ...routerDefaults("adamoe"), balanceCoef: 0.5 }, [4, 3])],
  ["top-any (sigmoid scores against trained thresholds)", model("moe", routerDefaults("top-any"), [4, 3])],
  ["top-2 with 2 shared experts (always-on FFN of 2h beside the routed experts)", { ...model("moe", { ...routerDefaults("topk"), k: 2 }, [4, 3]), sharedExperts: 2 }],
  ["percentile with a balancing bias (γ 0.05) and noise", model("moe", { ...routerDefaults("percentile"), biasRate: 0.05 }, [4, 3])],
  ["top-2 with a numeric dispatch capacity (crowded experts drop pairs)", { ...model("moe", { ...routerDefaults("topk"), k: 2 }, [4, 3]), capacity: 0.6 }],
];

for (const [label, cfg] of CASES) {
  test(`native image step equals the jitted jax-js step: ${label}`, async () => {
    assert.equal(nativeImageUnsupported(cfg), null);
    const opt = adamw(HYPER);
    const params = initImageModel(seedKey(7), cfg);
    const state = opt.init(tree.ref(params));
    const native = await NativeImageStep.create(cfg, B, HYPER, 1.0, params, state);
    const jitted = makeTrainStep(cfg, opt, 1.0);
    const gradFn = makeImageGradFn(cfg);
    let p = params, s = state;
    for (let t = 0; t < 3; t++) {
      const { x, y } = batch(t);
      const expectedGrads = await leaves(gradFn(p, np.array(x).reshape([B, 20]), np.array(y, { dtype: np.int32 }), seedKey(100 + t)));
      const [p2, s2, packed] = jitted(p, s, np.array(x).reshape([B, 20]), np.array(y, { dtype: np.int32 }), seedKey(100 + t), np.array(3e-3));
      p = p2;
      s = s2;
      const expected = unpackStepStats(await packed.data(), cfg.experts.length);
      const got = unpackStepStats(await native.step(x, y, seedKey(100 + t), 3e-3), cfg.experts.length);
      assertTreesClose(await leaves(native.gradients()), expectedGrads, 2e-4, `step ${t} gradient`);
      assertAllClose(got.active, expected.active, { rtol: 1e-6, atol: 0 }, `step ${t} active experts`);
      assert.equal(got.correct, expected.correct, `step ${t} correct`);
      assertAllClose([got.loss, got.gradNorm, ...got.routerGradNorm], [expected.loss, expected.gradNorm, ...expected.routerGradNorm], { rtol: 1e-4, atol: 1e-7 }, `step ${t} stats`);
    }
    assertTreesClose(await leaves(native.params()), await leaves(tree.ref(p)), 1e-4, "parameters after 3 steps");
    const nativeOpt = native.opt();
    assertTreesClose(await leaves(nativeOpt.mu), await leaves(tree.ref(s.mu)), 2e-4, "first moments");
    assert.equal((await nativeOpt.count.data())[0], 3);
    tree.dispose([p, s, nativeOpt.nu]);
  });
}

test("the native step says which configurations it cannot run", () => {
  // Every router and dispatch capacity runs natively now: the CPU runs everything on the native engine.
  for (const kind of ROUTER_KINDS) assert.equal(nativeImageUnsupported(model("moe", routerDefaults(kind), [4, 4])), null, kind);
  assert.equal(nativeImageUnsupported({ ...model("moe", routerDefaults("percentile"), [4, 4]), capacity: 1.25 }), null);
});

test("the native step's gradient(): the jitted gradient at the current parameters, and nothing updated", async () => {
  for (const [label, cfg] of [CASES[1], CASES[4], CASES[12]]) {
    const opt = adamw(HYPER);
    const params = initImageModel(seedKey(9), cfg);
    const state = opt.init(tree.ref(params));
    const a = await NativeImageStep.create(cfg, B, HYPER, 1.0, params, state);
    const b = await NativeImageStep.create(cfg, B, HYPER, 1.0, params, state);
    const gradFn = makeImageGradFn(cfg);
    await a.step(batch(0).x, batch(0).y, seedKey(50), 3e-3);
    await b.step(batch(0).x, batch(0).y, seedKey(50), 3e-3);
    const { x, y } = batch(1);
    const expected = await leaves(gradFn(a.params(), np.array(x).reshape([B, 20]), np.array(y, { dtype: np.int32 }), seedKey(51)));
    assertTreesClose(await leaves(await a.gradient(x, y, seedKey(51))), expected, 2e-4, `${label}: gradient`);
    // The next step of the one that measured equals the next step of the one that did not, bit for bit.
    const sa = await a.step(batch(2).x, batch(2).y, seedKey(52), 3e-3);
    const sb = await b.step(batch(2).x, batch(2).y, seedKey(52), 3e-3);
    assert.deepEqual(Array.from(sa), Array.from(sb), `${label}: the step after`);
    assert.deepEqual(await leaves(a.params()), await leaves(b.params()), `${label}: parameters after`);
    tree.dispose([params, state]);
  }
});
