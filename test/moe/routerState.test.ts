/**
 * A router's state (`src/moe/routerState.ts`): the auxiliary-loss-free balancing bias against a plain
 * reading of DeepSeek-V3's rule and ReMoE's λ against its rule, each in its two forms (jax-js and
 * host) bit for bit, and their place in the parameter tree (created only where the router asks for
 * them, no weight decay).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np } from "../../src/engine/jax.js";
import { isDecayed } from "../../src/engine/paramTree.js";
import { balanceBiasStep, hostBalanceBiasStep } from "../../src/moe/balanceBias.js";
import { hostRouterStateStep, routerStateStep } from "../../src/moe/routerState.js";
import { initMoeLayer } from "../../src/moe/moeLayer.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { setup } from "../helpers.js";

before(setup);

test("the bias moves each expert by γ toward the mean load: overloaded down, idle up, at the mean unchanged", () => {
  const bias = Float32Array.from([0, 0.5, -0.25, 0.1]);
  const load = [10, 2, 6, 6]; // mean 6
  const rate = 0.01;
  const expected = Array.from(bias, (b, i) => Math.fround(b + rate * Math.sign(6 - load[i])));
  hostBalanceBiasStep(bias, load, rate);
  assert.deepEqual(Array.from(bias), expected);
  assert.ok(bias[0] < 0 && bias[1] > 0.5 && bias[2] === Math.fround(-0.25) && bias[3] === Math.fround(0.1));
});

test("the jax-js and host updates agree bit for bit over many steps", async () => {
  let state = 1;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648), state / 2147483648);
  const n = 7;
  const host = new Float32Array(n);
  let jax = np.zeros([n]);
  for (let step = 0; step < 50; step++) {
    const load = Array.from({ length: n }, () => Math.floor(next() * 300));
    if (step % 10 === 0) load[3] = load[5]; // ties
    hostBalanceBiasStep(host, load, 0.003);
    jax = balanceBiasStep(jax, np.array(Float32Array.from(load)), 0.003);
  }
  assert.deepEqual(Array.from(host), Array.from((await jax.data()) as Float32Array));
});

test("only routers with biasRate > 0 carry a bias; it starts at zero and gets no weight decay", async () => {
  const plain = initMoeLayer(seedKey(1), { d: 8, h: 8, experts: 4, router: routerDefaults("topk") });
  assert.equal(plain.router.bias, undefined);
  const biased = initMoeLayer(seedKey(1), { d: 8, h: 8, experts: 4, router: routerDefaults("aux-free") });
  assert.deepEqual(Array.from((await biased.router.bias!.data()) as Float32Array), [0, 0, 0, 0]);
  assert.equal(isDecayed("blocks.0.moe.router.bias"), false);
});

test("ReMoE's λ: times α above k active experts per token, divided below, unchanged at k; jax-js and host bit for bit", async () => {
  const cfg = { ...routerDefaults("remoe"), k: 2, l1Init: 1e-3, l1Growth: 1.2 };
  // loads [N = 4] then the token count: mean active 3, 1 and exactly 2.
  const steps = [[30, 10, 10, 10, 20], [5, 5, 5, 5, 20], [10, 10, 10, 10, 20]];
  const host = Float32Array.from([cfg.l1Init]);
  let jax = np.array([cfg.l1Init]);
  const seen: number[] = [];
  for (const loads of steps) {
    hostRouterStateStep(null, host, loads, cfg);
    seen.push(host[0]);
    jax = routerStateStep({ l1: jax }, np.array(Float32Array.from(loads)), cfg).l1!;
    assert.equal(((await jax.ref.data()) as Float32Array)[0], host[0]);
  }
  const f = Math.fround;
  assert.deepEqual(seen, [f(f(1e-3) * f(1.2)), f(f(f(1e-3) * f(1.2)) * f(1 / 1.2)), f(f(f(1e-3) * f(1.2)) * f(1 / 1.2))]);
  jax.dispose();
});
