import assert from "node:assert/strict";
import { test } from "node:test";
import { numpy as np, tree } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { initImageModel, type ImageModelConfig } from "../../src/models/imageModel.js";
import { NativeImageStep, nativeImageUnsupported } from "../../src/steps/nativeImageStep.js";
import { adamw } from "../../src/steps/adamw.js";
import { makeImageGradFn, makeTrainStep, unpackStepStats } from "../../src/steps/imageStep.js";
import { assertAllClose, assertTreesClose, lcg, leaves, setup } from "../helpers.js";
import { model, NATIVE_IMAGE_CASES as CASES } from "./nativeImageCases.js";
import { ROUTER_KINDS, routerDefaults } from "../../src/moe/routers/registry.js";

await setup();

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const B = 24;

function batch(seed: number) {
  const r = lcg(seed);
  return { x: Float32Array.from({ length: B * 20 }, () => r() * 2 - 1), y: Int32Array.from({ length: B }, () => Math.floor(r() * 5)) };
}

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
