/** Sampling from a language model: the host-side sampler against softmax, and seeded generation. */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { trackBuffers } from "../../src/engine/liveBuffers.js";
import { generateTokens, sampleToken } from "../../src/models/generate.js";
import { applyLmTrunk, initLmModel, lmLogits, type LmModelConfig } from "../../src/models/lmModel.js";
import { disposeRouting } from "../../src/moe/moeLayer.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { assertAllClose, lcg, read, setup } from "../helpers.js";

before(setup);

const LOGITS = [1.0, 2.5, 0.5, -1.0, 2.0, 1.5];
const ARGMAX = 1;

/** `softmax(logits / T)` over the kept ids (all when `keep` is omitted). */
function softmax(logits: number[], t: number, keep?: Set<number>): number[] {
  const w = logits.map((l, i) => (keep && !keep.has(i) ? 0 : Math.exp(l / t)));
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / z);
}

/** Frequencies of each id over an even grid of M values of u in [0, 1) (a quadrature of the sampler). */
function frequencies(logits: number[], t: number, k: number, m = 100_000): number[] {
  const f = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < m; i++) f[sampleToken(logits, t, k, (i + 0.5) / m)] += 1 / m;
  return f;
}

test("temperature 0 takes the arg-max whatever u and k", () => {
  for (const u of [0, 0.3, 0.999999]) {
    for (const k of [0, 1, 3]) assert.equal(sampleToken(LOGITS, 0, k, u), ARGMAX);
  }
  assert.equal(sampleToken(Float32Array.from([-3, -1, -2]), 0, 0, 0.5), 1, "a typed array, all negative");
});

test("top-k 1 always gives the arg-max; top-k 2 never leaves the two largest", () => {
  const next = lcg(1);
  for (let i = 0; i < 2000; i++) {
    const u = next();
    assert.equal(sampleToken(LOGITS, 1.3, 1, u), ARGMAX);
    const id = sampleToken(LOGITS, 5, 2, u); // a high temperature flattens the weights
    assert.ok(id === 1 || id === 4, `top-2 gave ${id} at u = ${u}`);
  }
  assert.equal(sampleToken(LOGITS, 1, 2, 0), 1, "u = 0: the first kept id");
  assert.equal(sampleToken(LOGITS, 1, 2, 1 - 2 ** -53), 4, "u → 1: the last kept id");
});

test("ties at the k-th logit are all kept", () => {
  const ids = new Set<number>();
  for (let i = 0; i < 1000; i++) ids.add(sampleToken([3, 1, 1, 0], 2, 2, (i + 0.5) / 1000));
  assert.deepEqual([...ids].sort(), [0, 1, 2]);
});

test("frequencies over u in [0, 1) match softmax(logits / T), with and without top-k", () => {
  for (const t of [0.5, 1, 2]) {
    assertAllClose(frequencies(LOGITS, t, 0), softmax(LOGITS, t), { rtol: 0, atol: 1e-4 }, `T=${t}, all ids`);
    assertAllClose(frequencies(LOGITS, t, 3), softmax(LOGITS, t, new Set([1, 4, 5])), { rtol: 0, atol: 1e-4 }, `T=${t}, top-3`);
    assertAllClose(frequencies(LOGITS, t, LOGITS.length), softmax(LOGITS, t), { rtol: 0, atol: 1e-4 }, `T=${t}, k = n keeps all`);
  }
  // Random u as the generator draws it, for a large vocabulary: within a few standard errors.
  const next = lcg(2);
  const big = Array.from({ length: 300 }, () => 4 * next());
  const p = softmax(big, 0.8);
  const counts = new Array<number>(big.length).fill(0);
  const n = 60_000;
  for (let i = 0; i < n; i++) counts[sampleToken(big, 0.8, 0, next())] += 1;
  for (let i = 0; i < big.length; i++) {
    const se = Math.sqrt((p[i] * (1 - p[i])) / n);
    assert.ok(Math.abs(counts[i] / n - p[i]) <= 5 * se + 1e-6, `id ${i}: ${counts[i] / n} vs ${p[i]}`);
  }
});

const VOCAB = 50;

function tinyModel(kind: "dense" | "moe", attention: boolean): LmModelConfig {
  return { kind, vocab: VOCAB, context: 8, d: 16, h: 32, layers: 2, experts: kind === "moe" ? [4, 2] : [], router: routerDefaults("percentile"), attention, heads: 2 };
}

test("generateTokens: `tokens` ids in [0, vocab), the window slides past the context, the same seed gives the same text", async () => {
  for (const [kind, attention] of [["dense", true], ["moe", false], ["moe", true]] as const) {
    const cfg = tinyModel(kind, attention);
    const params = initLmModel(random.key(3), cfg);
    const seen: number[] = [];
    const a = await generateTokens(params, cfg, [1, 2, 3], { tokens: 12, temperature: 1, topK: 0, seed: 4, onToken: (id) => seen.push(id) });
    assert.equal(a.length, 12);
    assert.ok(a.every((id) => Number.isInteger(id) && id >= 0 && id < VOCAB), `ids out of range: ${a}`);
    assert.deepEqual(seen, a, "onToken sees every id in order");
    assert.deepEqual(await generateTokens(params, cfg, [1, 2, 3], { tokens: 12, temperature: 1, topK: 0, seed: 4 }), a, "same seed");
    // An untrained model is nearly uniform over 50 ids: another seed gives other text.
    assert.notDeepEqual(await generateTokens(params, cfg, [1, 2, 3], { tokens: 12, temperature: 1, topK: 0, seed: 5 }), a, "another seed");
    tree.dispose(params);
  }
});

test("generateTokens at temperature 0 continues with the arg-max of the last position's logits", async () => {
  const cfg = tinyModel("moe", true);
  const params = initLmModel(random.key(6), cfg);
  const prompt = [5, 9, 11, 40];
  const { hidden, routings } = applyLmTrunk(params, np.array(Int32Array.from(prompt), { dtype: np.int32 }).reshape([1, prompt.length]), cfg, { train: false });
  for (const r of routings) {
    await read(r.mask.ref);
    disposeRouting(r);
  }
  const logits = await read(lmLogits(params, hidden.slice([prompt.length - 1, prompt.length])));
  const argmax = logits.indexOf(Math.max(...logits));
  assert.deepEqual(await generateTokens(params, cfg, prompt, { tokens: 1, temperature: 0 }), [argmax]);
  await assert.rejects(generateTokens(params, cfg, [], { tokens: 1 }), /at least one prompt token/);
  tree.dispose(params);
});

test("generateTokens leaks no arrays (dense and MoE)", async () => {
  for (const kind of ["dense", "moe"] as const) {
    const cfg = tinyModel(kind, true);
    const params = initLmModel(random.key(7), cfg);
    await read(params.embed.tokens.ref); // realise the parameters before counting
    await generateTokens(params, cfg, [1], { tokens: 1 }); // warm-up: anything cached once is not a leak
    const tracker = await trackBuffers();
    await generateTokens(params, cfg, [1, 2], { tokens: 4 });
    const live = tracker.live();
    tracker.stop();
    tree.dispose(params);
    assert.equal(live, 0, `${kind}: ${live} buffers leaked`);
  }
});
