/**
 * The host draw schedule (`hostStepDraws`, what the native engine draws) against the jax-js one
 * (`layerKeys`, `routerDrawKeys` and jax-js's own draws, what the jax-js step draws): the same keys
 * and the same numbers, block by block, whichever uniform-draw function fills the buffer.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { numpy as np, random } from "../../src/engine/jax.js";
import { hostUniform, type HostKey } from "../../src/engine/hostRandom.js";
import { hostDrawFloats, hostStepDraws, layerKeys, routerDrawKeys, type DrawLayer, type UniformInto } from "../../src/moe/drawSchedule.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
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

/** A uniform-draw function that fills the buffer back to front, as a kernel split over threads might. */
const backToFront: UniformInto = (key, lo, hi, out) => {
  const all = hostUniform(key, out.length, lo, hi);
  for (let i = out.length - 1; i >= 0; i--) out[i] = all[i];
};

test("host draws: the jax-js step's keys and numbers, block by block (noise to float32 rounding of Box–Muller)", async () => {
  const buffer = new Float32Array(hostDrawFloats(LAYERS, T, D));
  const draw = hostStepDraws(LAYERS, T, D, buffer)!;
  for (const uniformInto of [undefined, backToFront]) {
    const host = draw(KEY, uniformInto);
    const keys = layerKeys(np.array(Uint32Array.of(KEY[0], KEY[1], 1)).slice([0, 2]), LAYERS.length);
    for (let l = 0; l < LAYERS.length; l++) {
      const layer = LAYERS[l];
      if (!layer) {
        keys[l].dispose();
        assert.deepEqual(host[l], {}, `block ${l}`);
        continue;
      }
      const { router, experts } = layer;
      const k = routerDrawKeys(router, experts, true, keys[l]);
      assert.deepEqual(Object.keys(host[l]).sort(), Object.keys(k).sort(), `block ${l}: which draws`);
      if (k.jitter) {
        const expected = await random.uniform(k.jitter, [T, D], { minval: 1 - router.jitter, maxval: 1 + router.jitter }).data();
        assert.deepEqual(Array.from(host[l].jitter!), Array.from(expected), `block ${l} jitter`);
      }
      if (k.rule) assert.deepEqual(Array.from(host[l].rule!), Array.from(await random.uniform(k.rule, [T]).data()), `block ${l} rule`);
      if (k.noise) {
        const expected = await random.normal(k.noise, [T, experts]).mul(router.noise).data();
        assertAllClose(Array.from(host[l].noise!), Array.from(expected), { rtol: 0, atol: 2e-5 * router.noise }, `block ${l} noise`);
      }
    }
  }
});

test("host draws: the same bits whichever function fills the uniform draws", () => {
  const draw = hostStepDraws(LAYERS, T, D)!;
  const flat = (ds: ReturnType<typeof draw>) => ds.flatMap((d) => [d.jitter, d.noise, d.rule].flatMap((v) => (v ? Array.from(v) : [])));
  assert.deepEqual(flat(draw(KEY, backToFront)), flat(draw(KEY)));
});
