import assert from "node:assert/strict";
import { before, test } from "node:test";
import { jit, numpy as np } from "../../src/engine/jax.js";
import {
  addRoutingCounts,
  imbalance,
  routingCounts,
  routingCountsSize,
  routingStatsFromCounts,
  unpackRoutingCounts,
  type RoutingCounts,
} from "../../src/analysis/routingStats.js";
import type { Routing } from "../../src/moe/routing.js";
import { assertAllClose, lcg, setup } from "../helpers.js";

before(setup);

/** A crafted batch: T tokens over N experts, some tokens with no expert, some with every expert. */
function crafted(t: number, n: number, classes: number, seed: number, withDropped: boolean) {
  const rand = lcg(seed);
  const mask: number[][] = [];
  const probs: number[][] = [];
  const dropped: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < t; i++) {
    const row = Array.from({ length: n }, () => (rand() < 0.4 ? 1 : 0));
    if (i === 0) row.fill(0); // a token with no expert
    if (i === 1) row.fill(1); // a token with every expert
    mask.push(row);
    const raw = Array.from({ length: n }, (_, j) => (i === 2 && j > 0 ? 0 : rand() + 0.01)); // token 2: a one-hot gate (0 log 0)
    const s = raw.reduce((a, b) => a + b, 0);
    probs.push(raw.map((v) => v / s));
    dropped.push(withDropped ? Math.floor(rand() * 3) * (rand() < 0.5 ? 1 : 0) : 0);
    y.push(Math.floor(rand() * classes));
  }
  return { mask, probs, dropped, y };
}

/** The same sums by plain loops. */
function slowCounts(c: ReturnType<typeof crafted>, classes: number): RoutingCounts {
  const t = c.mask.length;
  const n = c.mask[0].length;
  const kHist = new Array<number>(n + 1).fill(0);
  const expertTokens = new Array<number>(n).fill(0);
  const gateMass = new Array<number>(n).fill(0);
  const coactivation = new Array<number>(n * n).fill(0);
  const classUsage = new Array<number>(classes * n).fill(0);
  const classTokens = new Array<number>(classes).fill(0);
  let entropy = 0;
  let droppedAssignments = 0;
  let droppedTokens = 0;
  for (let i = 0; i < t; i++) {
    let k = 0;
    for (let a = 0; a < n; a++) {
      k += c.mask[i][a];
      expertTokens[a] += c.mask[i][a];
      gateMass[a] += c.probs[i][a];
      if (c.probs[i][a] > 0) entropy -= c.probs[i][a] * Math.log(c.probs[i][a]);
      for (let b = 0; b < n; b++) coactivation[a * n + b] += c.mask[i][a] * c.mask[i][b];
      classUsage[c.y[i] * n + a] += c.mask[i][a];
    }
    kHist[k] += 1;
    classTokens[c.y[i]] += 1;
    droppedAssignments += c.dropped[i];
    if (c.dropped[i] > 0) droppedTokens += 1;
  }
  return { tokens: t, kHist, expertTokens, gateMass, entropy, droppedAssignments, droppedTokens, coactivation, classUsage, classTokens };
}

function routingOf(c: ReturnType<typeof crafted>, withDropped: boolean): Routing {
  const mask = np.array(c.mask);
  return {
    mask: mask.ref,
    weights: mask.ref,
    probs: np.array(c.probs),
    active: mask.sum(1),
    auxLoss: np.zeros([]),
    ...(withDropped ? { dropped: np.array(c.dropped) } : {}),
  };
}

function dispose(r: Routing) {
  for (const a of [r.mask, r.weights, r.probs, r.active, r.auxLoss, r.dropped]) a?.dispose();
}

function assertCountsClose(a: RoutingCounts, e: RoutingCounts) {
  for (const key of Object.keys(e) as (keyof RoutingCounts)[]) {
    const av = a[key];
    const ev = e[key];
    assertAllClose(Array.isArray(av) ? av : [av], Array.isArray(ev) ? ev : [ev], { rtol: 1e-5, atol: 1e-4 }, key);
  }
}

for (const withDropped of [false, true]) {
  test(`routingCounts equals a loop computation${withDropped ? ", with dropped" : ""}`, async () => {
    const [t, n, classes] = [37, 5, 3];
    const c = crafted(t, n, classes, 11, withDropped);
    const r = routingOf(c, withDropped);
    const y = np.array(c.y, { dtype: np.int32 });
    const v = routingCounts(r, y, classes);
    assert.deepEqual(v.shape, [routingCountsSize(n, classes)]);
    const got = unpackRoutingCounts(await v.data(), n, classes);
    assertCountsClose(got, slowCounts(c, classes));
    assert.equal(got.kHist[0] >= 1 && got.kHist[n] >= 1, true);
    dispose(r);
    y.dispose();
  });
}

test("routingCounts under jit equals eager", async () => {
  const [t, n, classes] = [24, 4, 10];
  const c = crafted(t, n, classes, 5, true);
  const f = jit((mask: np.Array, probs: np.Array, dropped: np.Array, y: np.Array) => {
    const r: Routing = { mask: mask.ref, weights: mask.ref, probs, active: mask.sum(1), auxLoss: np.zeros([]), dropped };
    const out = routingCounts(r, y, classes);
    for (const a of [r.mask, r.weights, r.probs, r.active, r.auxLoss, r.dropped!, y]) a.dispose();
    return out;
  });
  const jitted = await f(np.array(c.mask), np.array(c.probs), np.array(c.dropped), np.array(c.y, { dtype: np.int32 })).data();
  const r = routingOf(c, true);
  const y = np.array(c.y, { dtype: np.int32 });
  const eager = await routingCounts(r, y, classes).data();
  assertAllClose(jitted, eager, { rtol: 1e-6, atol: 1e-5 });
  dispose(r);
  y.dispose();
  f.dispose();
});

test("batches add up to the whole set", async () => {
  const [n, classes] = [3, 2];
  const c = crafted(20, n, classes, 9, true);
  const part = (lo: number, hi: number) => ({ mask: c.mask.slice(lo, hi), probs: c.probs.slice(lo, hi), dropped: c.dropped.slice(lo, hi), y: c.y.slice(lo, hi) });
  const total = addRoutingCounts(slowCounts(part(0, 7), classes), slowCounts(part(7, 20), classes));
  assertCountsClose(total, slowCounts(c, classes));
});

test("rates, imbalance and FLOPs from hand-computed counts", () => {
  // 4 tokens, 2 experts: token 0 uses none, token 1 expert 0, tokens 2 and 3 both.
  const counts: RoutingCounts = {
    tokens: 4,
    kHist: [1, 1, 2],
    expertTokens: [3, 2],
    gateMass: [2.5, 1.5],
    entropy: 4 * Math.log(2),
    droppedAssignments: 2,
    droppedTokens: 1,
    coactivation: [3, 2, 2, 2],
    classUsage: [1, 0, 2, 2],
    classTokens: [2, 2],
  };
  const s = routingStatsFromCounts(counts, { d: 8, h: 16 });
  assert.equal(s.meanActive, (0 + 1 + 2 * 2) / 4);
  assert.deepEqual(s.load, [0.75, 0.5]);
  assert.deepEqual(s.gateShare, [0.625, 0.375]);
  assertAllClose([s.imbalanceMaxMean], [0.75 / 0.625]);
  assertAllClose([s.imbalanceCv], [0.125 / 0.625]); // std of [0.75, 0.5] is 0.125
  assertAllClose([s.entropy], [Math.log(2)]);
  assert.equal(s.dropRate, 0.5);
  assert.equal(s.droppedTokens, 1);
  assert.equal(s.noExpertTokens, 1);
  // router 2·d·N = 32, experts 1.25 · 2·(8·16 + 16·8) = 640
  assert.equal(s.flopsPerToken, 2 * 8 * 2 + 1.25 * 2 * (8 * 16 + 16 * 8));
  assert.equal(s.activeParams, 8 * 2 + 1.25 * (2 * 8 * 16 + 16 + 8));
  assert.deepEqual(s.coactivation, [3, 2, 2, 2]);
  assert.deepEqual(s.classUsage, [1, 0, 2, 2]);
  assert.deepEqual(s.classTokens, [2, 2]);
});

test("imbalance: balanced load is 1 and 0; an empty load is 0 and 0", () => {
  assert.deepEqual(imbalance([0.5, 0.5, 0.5]), { maxMean: 1, cv: 0 });
  assert.deepEqual(imbalance([0, 0]), { maxMean: 0, cv: 0 });
  assertAllClose([imbalance([1, 0, 0, 0]).maxMean, imbalance([1, 0, 0, 0]).cv], [4, Math.sqrt(3)]);
});
