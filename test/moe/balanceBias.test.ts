/**
 * The auxiliary-loss-free balancing bias (`src/moe/balanceBias.ts`): its update against a plain
 * reading of DeepSeek-V3's rule, its two forms (jax-js and host) bit for bit, and its place in the
 * parameter tree (created only where the router asks for it, no weight decay, zero gradient).
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np } from "../../src/engine/jax.js";
import { isDecayed } from "../../src/engine/paramTree.js";
import { balanceBiasStep, hostBalanceBiasStep } from "../../src/moe/balanceBias.js";
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
