import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../../src/engine/jax.js";
import { disposeRouting } from "../../../src/moe/moeLayer.js";
import { applyRouter } from "../../../src/moe/router.js";
import { type RouterConfig } from "../../../src/moe/routers/registry.js";
import { DEFAULT_ROUTER } from "../../../src/moe/routers/registry.js";
import { expertCapacity } from "../../../src/moe/routers/expertCapacity.js";
import { balanceLoss, zLoss } from "../../../src/moe/routers/switch.js";
import { assertAllClose, lcg, read, setup } from "../../helpers.js";

before(setup);

const SWITCH: RouterConfig = { ...DEFAULT_ROUTER, kind: "switch", temperature: 1 };

/** Route given logits exactly: x = logits, W = I. */
function route(logits: number[][], cfg: RouterConfig, train: boolean) {
  const n = logits[0].length;
  return applyRouter({ w: np.eye(n) }, np.array(logits), cfg, { train, key: random.key(0) });
}

/** Slow reference: top-1 (first on ties), kept while its expert has had fewer than C tokens before it. */
function referenceSwitch(logits: number[][], capacity: number): { kept: number[]; top: number[] } {
  const n = logits[0].length;
  const used = new Array<number>(n).fill(0);
  const kept: number[] = [];
  const top: number[] = [];
  for (const row of logits) {
    const e = row.indexOf(Math.max(...row));
    top.push(e);
    kept.push(used[e] < capacity ? 1 : 0);
    used[e]++;
  }
  return { kept, top };
}

test("capacity C = max(minCapacity, ⌈f·T/N⌉)", () => {
  assert.equal(expertCapacity(40, 4, 1.25, 4), 13);
  assert.equal(expertCapacity(40, 4, 2.0, 4), 20);
  assert.equal(expertCapacity(8, 8, 1.25, 4), 4, "the minimum");
  assert.equal(expertCapacity(32, 8, 1.25, 0), 5, "an exact product is not rounded up");
  assert.equal(expertCapacity(10, 1, 1.1, 0), 11, "floating point 1.1·10 = 11.000000000000002");
});

test("no expert exceeds its capacity, and the tokens past it in token order are the ones dropped (train and eval)", async () => {
  const rand = lcg(11);
  const [t, n] = [40, 4];
  // Skewed: 3 tokens in 4 prefer expert 0, so it overflows even the evaluation capacity.
  const logits = Array.from({ length: t }, () => {
    const row = Array.from({ length: n }, () => rand());
    row[rand() < 0.75 ? 0 : 1 + Math.floor(rand() * (n - 1))] += 3;
    return row;
  });
  for (const train of [true, false]) {
    const capacity = expertCapacity(t, n, train ? 1.25 : 2.0, 4);
    const r = route(logits, SWITCH, train);
    const mask = await read(r.mask.ref);
    const weights = await read(r.weights.ref);
    const probs = await read(r.probs.ref);
    const dropped = await read(r.dropped!.ref);
    const { kept, top } = referenceSwitch(logits, capacity);
    assert.ok(kept.some((k) => k === 0), "the case drops tokens");
    for (let e = 0; e < n; e++) {
      const load = [...Array(t).keys()].reduce((s, tok) => s + mask[tok * n + e], 0);
      assert.ok(load <= capacity, `train=${train}: expert ${e} holds ${load} > C = ${capacity}`);
    }
    for (let tok = 0; tok < t; tok++) {
      const want = Array.from({ length: n }, (_, e) => (e === top[tok] && kept[tok] ? 1 : 0));
      assert.deepEqual(mask.slice(tok * n, (tok + 1) * n), want, `train=${train} token ${tok}`);
      assert.equal(dropped[tok], 1 - kept[tok]);
      // The kept expert's weight is its gate (no renormalisation); a dropped token's row is zero.
      assertAllClose(weights.slice(tok * n, (tok + 1) * n), want.map((m, e) => m * probs[tok * n + e]), { rtol: 1e-6, atol: 0 });
    }
    disposeRouting(r);
  }
});

test("the balancing loss N·Σ f_i·P_i: 1 for perfectly uniform routing, N when collapsed, and a hand-computed case", async () => {
  // Token t prefers expert t mod 4 with gate 0.7: f_i = P_i = 1/4.
  const uniform = Array.from({ length: 8 }, (_, t) => Array.from({ length: 4 }, (_, e) => (e === t % 4 ? 0.7 : 0.1)));
  const top1 = (p: number[][]) => np.array(p.map((row) => row.map((v) => (v === Math.max(...row) ? 1 : 0))));
  assertAllClose(await read(balanceLoss(np.array(uniform), top1(uniform))), [1], { rtol: 1e-6, atol: 0 }, "uniform");
  const collapsed = [[1, 0, 0], [1, 0, 0]];
  assertAllClose(await read(balanceLoss(np.array(collapsed), top1(collapsed))), [3], { rtol: 1e-6, atol: 0 }, "collapsed");
  // f = [2/3, 1/3], P = [1.7/3, 1.3/3]: 2·(2/3·1.7/3 + 1/3·1.3/3) = 9.4/9.
  const probs = [[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]];
  const offsets = [1, -2, 0.5]; // logits = log p + c_t: same gates, logsumexp = c_t
  const r = route(probs.map((row, t) => row.map((p) => Math.log(p) + offsets[t])), SWITCH, false);
  const balance = 9.4 / 9;
  const z = (1 + 4 + 0.25) / 3;
  assertAllClose(await read(r.losses!.balance!.ref), [balance], { rtol: 1e-5, atol: 0 }, "balance");
  assertAllClose(await read(r.losses!.z!.ref), [z], { rtol: 1e-5, atol: 1e-6 }, "z");
  assertAllClose(await read(r.auxLoss.ref), [0.01 * balance + 0.001 * z], { rtol: 1e-5, atol: 0 }, "auxLoss with coefficients");
  disposeRouting(r);
});

test("z-loss is mean(logsumexp(h / T)²), on the tempered logits", async () => {
  const lse = [Math.log(Math.E + Math.E ** 2 + Math.E ** 3), Math.log(3)];
  const want = (lse[0] ** 2 + lse[1] ** 2) / 2;
  assertAllClose(await read(zLoss(np.array([[1, 2, 3], [0, 0, 0]]))), [want], { rtol: 1e-5, atol: 0 });
  const r = route([[0.5, 1, 1.5], [0, 0, 0]], { ...SWITCH, temperature: 0.5 }, false);
  assertAllClose(await read(r.losses!.z!.ref), [want], { rtol: 1e-5, atol: 0 }, "through the router at T = 0.5");
  disposeRouting(r);
});

test("switch ignores gate noise; input jitter changes the gates in training only", async () => {
  const params = { w: random.normal(random.key(1), [8, 4]) };
  const x = random.normal(random.key(2), [32, 8]);
  const same: RouterConfig = { ...SWITCH, capacityFactorEval: SWITCH.capacityFactorTrain, noise: 0.5 };
  const evalR = applyRouter(params, x.ref, same, { train: false });
  const trainR = applyRouter(params, x.ref, same, { train: true, key: random.key(3) });
  const jittered = applyRouter(params, x, { ...same, jitter: 0.5 }, { train: true, key: random.key(3) });
  const probs = await read(evalR.probs.ref);
  assert.deepEqual(await read(trainR.mask.ref), await read(evalR.mask.ref), "noise does not reach switch's selection");
  assert.deepEqual(await read(trainR.probs.ref), probs);
  const j = await read(jittered.probs.ref);
  assert.ok(j.some((v, i) => Math.abs(v - probs[i]) > 1e-4), "jitter changes the gates");
  for (const r of [evalR, trainR, jittered]) disposeRouting(r);
  tree.dispose(params);
});
