import assert from "node:assert/strict";
import { test } from "node:test";
import { numpy as np, random } from "../../src/engine/jax.js";
import { hostBits, hostNormal, hostSplit, hostUniform, type HostKey } from "../../src/engine/hostRandom.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { assertAllClose, setup } from "../helpers.js";

await setup();

const keyOf = (k: HostKey) => np.array(Uint32Array.of(k[0], k[1], 1)).slice([0, 2]);
const KEYS: HostKey[] = [[0, 0], [0, 7], [0x9e3779b9, 0xdeadbeef], [4294967295, 12345]];

test("host split equals random.split word for word", async () => {
  for (const k of KEYS) {
    const expected = Array.from(await random.split(keyOf(k), 5).data());
    assert.deepEqual(hostSplit(k, 5).flat(), expected, `key ${k}`);
  }
});

test("host bits and uniform draws equal jax-js's exactly", async () => {
  for (const k of KEYS) {
    assert.deepEqual(Array.from(hostBits(k, 37)), Array.from(await random.bits(keyOf(k), [37]).data()));
    assert.deepEqual(Array.from(hostUniform(k, 37)), Array.from(await random.uniform(keyOf(k), [37]).data()));
    const ranged = await random.uniform(keyOf(k), [37], { minval: 0.99, maxval: 1.01 }).data();
    assert.deepEqual(Array.from(hostUniform(k, 37, 0.99, 1.01)), Array.from(ranged));
  }
});

// jax-js computes log1p and cos with its own float32 approximations: measured up to 1.05e-5 apart
// over 20 keys × 4,096 draws (draws are about N(0, 1), so that is a relative 1e-5).
test("host normal draws equal jax-js's to 2e-5", async () => {
  for (const k of KEYS) {
    const expected = Array.from(await random.normal(keyOf(k), [2048]).data()) as number[];
    const got = hostNormal(k, 2048);
    assertAllClose(Array.from(got), expected, { rtol: 0, atol: 2e-5 }, `key ${k}`);
    const mean = got.reduce((a, b) => a + b, 0) / got.length;
    assert.ok(Math.abs(mean) < 0.1, `mean ${mean}`);
  }
});

test("a seed key's words are [0, seed]", async () => {
  assert.deepEqual(Array.from(await seedKey(42).data()), [0, 42]);
});
