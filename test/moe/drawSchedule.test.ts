/**
 * The host draw schedule (`hostStepDraws`, what the native engine draws) against the jax-js one
 * (`layerKeys`, `routerDrawKeys` and jax-js's own draws, what the jax-js step draws): the same keys
 * and the same numbers, block by block, with the uniform draws made in JavaScript (`hostUniform`)
 * or by the kernel into its own memory (`kernelUniformInto`, as the native steps make them).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { numpy as np, random } from "../../src/engine/jax.js";
import type { HostKey } from "../../src/engine/hostRandom.js";
import { Arena, mlpInstance } from "../../src/kernels/mlpKernel.js";
import { hostDrawFloats, hostStepDraws, layerKeys, routerDrawKeys, type DrawLayer } from "../../src/moe/drawSchedule.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { kernelUniformInto } from "../../src/steps/nativeStack.js";
import { assertAllClose, setup } from "../helpers.js";

await setup();

const T = 6, D = 5;
const LAYERS: DrawLayer[] = [
  { router: { ...routerDefaults("gshard"), jitter: 0.01, noise: 0.1 }, experts: 4 }, // jitter, noise and the rule's own draw
  null, // a dense block
  { router: { ...routerDefaults("percentile"), noise: 0.2 }, experts: 3 }, // noise only
  { router: { ...routerDefaults("switch"), jitter: 0.02, noise: 0 }, experts: 4 }, // jitter only
];
const KEY: HostKey = [0x9e3779b9, 12345];

test("host draws, in JavaScript and by the kernel: the jax-js step's keys and numbers, block by block (noise to float32 rounding of Box–Muller)", async () => {
  const k = mlpInstance();
  const mem = new Arena(k);
  const buf = mem.take(hostDrawFloats(LAYERS, T, D));
  mem.commit();
  const ways = [
    { name: "hostUniform", draw: hostStepDraws(LAYERS, T, D)!, uniformInto: undefined },
    { name: "kernel", draw: hostStepDraws(LAYERS, T, D, mem.f32(buf))!, uniformInto: kernelUniformInto(k) },
  ];
  for (const { name, draw, uniformInto } of ways) {
    const host = draw(KEY, uniformInto);
    const keys = layerKeys(np.array(Uint32Array.of(KEY[0], KEY[1], 1)).slice([0, 2]), LAYERS.length);
    for (let l = 0; l < LAYERS.length; l++) {
      const layer = LAYERS[l];
      const at = `${name}, block ${l}`;
      if (!layer) {
        keys[l].dispose();
        assert.deepEqual(host[l], {}, at);
        continue;
      }
      const { router, experts } = layer;
      const kd = routerDrawKeys(router, experts, true, keys[l]);
      assert.deepEqual(Object.keys(host[l]).sort(), Object.keys(kd).sort(), `${at}: which draws`);
      if (kd.jitter) {
        const expected = await random.uniform(kd.jitter, [T, D], { minval: 1 - router.jitter, maxval: 1 + router.jitter }).data();
        assert.deepEqual(Array.from(host[l].jitter!), Array.from(expected), `${at} jitter`);
      }
      if (kd.rule) assert.deepEqual(Array.from(host[l].rule!), Array.from(await random.uniform(kd.rule, [T]).data()), `${at} rule`);
      if (kd.noise) {
        const expected = await random.normal(kd.noise, [T, experts]).mul(router.noise).data();
        assertAllClose(Array.from(host[l].noise!), Array.from(expected), { rtol: 0, atol: 2e-5 * router.noise }, `${at} noise`);
      }
    }
  }
});
