import assert from "node:assert/strict";
import { before, test } from "node:test";
import { jit, numpy as np, tree } from "../../src/engine/jax.js";
import { adamw } from "../../src/steps/adamw.js";
import { cosineWithWarmup } from "../../src/train/lrSchedule.js";
import { isDecayed } from "../../src/engine/paramTree.js";
import { assertAllClose, read, setup } from "../helpers.js";

before(setup);

/** Scalar AdamW, written out by hand from the paper's algorithm. */
function referenceAdamW(p: number, grads: number[], lrs: number[], o: { b1: number; b2: number; eps: number; wd: number }): number {
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    m = o.b1 * m + (1 - o.b1) * g;
    v = o.b2 * v + (1 - o.b2) * g * g;
    const mhat = m / (1 - o.b1 ** t);
    const vhat = v / (1 - o.b2 ** t);
    p = p - lrs[i] * (mhat / (Math.sqrt(vhat) + o.eps) + o.wd * p);
  });
  return p;
}

test("AdamW matches a hand-written scalar reference, with decay on weights only", async () => {
  const o = { b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1 };
  const opt = adamw({ beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd });
  const grads = [0.5, -1.2, 0.3, 2.0, -0.1];
  const lrs = [0.1, 0.05, 0.02, 0.01, 0.005];
  let params = { w: np.array([1.5, -0.7]), b: np.array([0.25]) };
  let state = opt.init(params);
  const update = jit((g: typeof params, s: typeof state, p: typeof params, lr: np.Array) => opt.update(g, s, p, lr));
  for (let i = 0; i < grads.length; i++) {
    const g = { w: np.array([grads[i], -grads[i]]), b: np.array([grads[i] * 2]) };
    [params, state] = update(g, state, params, np.array(lrs[i])) as [typeof params, typeof state];
  }
  const w = await read(params.w);
  const b = await read(params.b);
  assertAllClose(w, [referenceAdamW(1.5, grads, lrs, o), referenceAdamW(-0.7, grads.map((g) => -g), lrs, o)], { rtol: 1e-5, atol: 1e-6 }, "w");
  assertAllClose(b, [referenceAdamW(0.25, grads.map((g) => 2 * g), lrs, { ...o, wd: 0 })], { rtol: 1e-5, atol: 1e-6 }, "b (no decay)");
  assert.deepEqual(await read(state.count.ref), [5]);
  tree.dispose(state);
});

test("weight decay skips biases and LayerNorm parameters", () => {
  assert.equal(isDecayed("blocks.0.moe.w1"), true);
  assert.equal(isDecayed("blocks.0.moe.router.w"), true);
  assert.equal(isDecayed("blocks.0.moe.b1"), false);
  assert.equal(isDecayed("embed.b"), false);
  assert.equal(isDecayed("norm.scale"), false);
  assert.equal(isDecayed("blocks.2.norm.bias"), false);
});

test("learning rate: linear warm-up to the peak, cosine down to the floor", () => {
  const lr = cosineWithWarmup({ lr: 1e-3, warmupSteps: 10, totalSteps: 110, minLrRatio: 0.1 });
  assertAllClose([lr(0), lr(4), lr(9)], [1e-4, 5e-4, 1e-3]);
  assertAllClose([lr(10), lr(60), lr(110)], [1e-3, 1e-4 + 0.5 * 9e-4, 1e-4]);
  for (let s = 10; s < 110; s++) assert.ok(lr(s + 1) <= lr(s) + 1e-15, `non-increasing after warm-up at ${s}`);
});
