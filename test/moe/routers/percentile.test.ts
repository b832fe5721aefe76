import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, test } from "node:test";
import { grad, numpy as np, random, tree } from "../../../src/engine/jax.js";
import { applyMoeLayer, disposeRouting, initMoeLayer } from "../../../src/moe/moeLayer.js";
import { percentileActiveCount, percentileSelect, percentileThreshold } from "../../../src/moe/routers/percentile.js";
import { applyRouter } from "../../../src/moe/router.js";
import { type RouterConfig } from "../../../src/moe/routers/registry.js";
import { DEFAULT_ROUTER } from "../../../src/moe/routers/registry.js";
import { assertAllClose, lcg, read, setup } from "../../helpers.js";

const fixture = JSON.parse(readFileSync(new URL("../../../../shared/fixtures/percentile-router.json", import.meta.url), "utf8"));

before(setup);

/** Slow reference of spec §2.1 steps 4–5 on one row: sort, numpy linear interpolation, strict >, first-argmax fallback. */
function referenceSelect(scores: number[], tau: number): number[] {
  const s = [...scores].sort((a, b) => a - b);
  const pos = ((s.length - 1) * tau) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  const theta = s[lo] + (s[hi] - s[lo]) * (pos - lo);
  const sel = scores.flatMap((v, i) => (v > theta ? [i] : []));
  if (sel.length > 0) return sel;
  let best = 0;
  scores.forEach((v, i) => {
    if (v > scores[best]) best = i;
  });
  return [best];
}

function maskToIndices(mask: number[], n: number, row: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (mask[row * n + i] === 1) out.push(i);
  return out;
}

test("router reproduces the independent implementation's cases (gates, θ, selection, weights)", async () => {
  const eval_: RouterConfig = { ...DEFAULT_ROUTER, temperature: 0.5, tau: 50 };
  for (const c of fixture.percentile_cases as { logits: number[]; gates: number[]; theta: number; selected: number[]; weights: number[] }[]) {
    const n = c.logits.length;
    // logits = x @ I, so the router sees exactly the fixture's logits.
    const r = applyRouter({ w: np.eye(n) }, np.array([c.logits]), eval_, { train: false });
    assertAllClose(await read(r.probs.ref), c.gates, { rtol: 1e-5, atol: 1e-6 }, "gates");
    assertAllClose(await read(percentileThreshold(r.probs, 50)), [c.theta], { rtol: 1e-5, atol: 1e-6 }, "theta");
    assert.deepEqual(maskToIndices(await read(r.mask), n, 0), c.selected, `selection for ${JSON.stringify(c.logits)}`);
    assertAllClose(await read(r.weights), c.weights, { rtol: 1e-5, atol: 1e-6 }, "weights");
    assertAllClose(await read(r.active), [c.selected.length]);
    r.auxLoss.dispose();
  }
});

test("ties: the fixture's tie cases select exactly as the reference says", async () => {
  for (const c of fixture.tie_cases as { scores: number[]; theta: number; selected: number[] }[]) {
    const s = np.array([c.scores]);
    assertAllClose(await read(percentileThreshold(s.ref, 50)), [c.theta], { rtol: 1e-6, atol: 1e-7 }, "theta");
    assert.deepEqual(maskToIndices(await read(percentileSelect(s, 50)), c.scores.length, 0), c.selected, JSON.stringify(c.scores));
  }
});

test("selection equals a slow loop reference on crafted inputs with many ties", async () => {
  const rand = lcg(7);
  const levels = [0.1, 0.2, 0.25, 0.3, 0.5];
  for (const n of [2, 3, 4, 5, 8]) {
    for (const tau of [0, 25, 50, 75, 100]) {
      const rows = 64;
      const scores = Array.from({ length: rows }, () => Array.from({ length: n }, () => levels[Math.floor(rand() * levels.length)]));
      const mask = await read(percentileSelect(np.array(scores), tau));
      scores.forEach((row, t) => assert.deepEqual(maskToIndices(mask, n, t), referenceSelect(row, tau), `n=${n} τ=${tau} row ${JSON.stringify(row)}`));
    }
  }
});

test("the active count is N − 1 − ⌊(N − 1)·τ/100⌋ (at least 1) for every token: spec §2.1's defect", async () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 12, 16]) {
    for (const tau of [0, 10, 25, 50, 75, 90, 100]) {
      const key = random.key(n * 1000 + tau);
      const scores = random.uniform(key, [128, n]);
      const counts = await read(percentileSelect(scores, tau).sum(-1));
      const expected = Math.max(1, n - 1 - Math.floor(((n - 1) * tau) / 100));
      assert.equal(percentileActiveCount(n, tau), expected);
      assert.ok(counts.every((c) => c === expected), `n=${n} τ=${tau}: counts ${[...new Set(counts)]} expected ${expected}`);
    }
  }
});

test("noise is added in training only", async () => {
  const cfg: RouterConfig = { ...DEFAULT_ROUTER, noise: 0.1 };
  const params = { w: random.normal(random.key(1), [16, 8]) };
  const x = random.normal(random.key(2), [256, 16]);
  const evalA = applyRouter(params, x.ref, cfg, { train: false });
  const evalB = applyRouter(params, x.ref, cfg, { train: false, key: random.key(99) }); // a key changes nothing in eval
  const trainR = applyRouter(params, x.ref, cfg, { train: true, key: random.key(3) });
  const quiet = applyRouter(params, x, { ...cfg, noise: 0 }, { train: true, key: random.key(3) });
  const a = await read(evalA.mask.ref);
  assert.deepEqual(await read(evalB.mask.ref), a);
  assert.deepEqual(await read(quiet.mask.ref), a, "noise 0 in training equals evaluation");
  const t = await read(trainR.mask.ref);
  assert.ok(t.some((v, i) => v !== a[i]), "training noise changed no selection among 256 tokens");
  // Noise changes the selection, not the probabilities reported.
  assertAllClose(await read(trainR.probs.ref), await read(evalA.probs.ref));
  for (const r of [evalA, evalB, trainR, quiet]) disposeRouting(r);
  tree.dispose(params);
});

test("with N ≤ 3 at τ = 50 the router gets an exactly zero gradient; with N = 8 it does not", async () => {
  for (const n of [2, 3, 8]) {
    const cfg = { d: 8, h: 4, experts: n, router: { ...DEFAULT_ROUTER, noise: 0 } };
    const params = initMoeLayer(random.key(n), cfg);
    const x = random.normal(random.key(10 + n), [32, 8]);
    const loss = (p: typeof params) => {
      const { y, routing } = applyMoeLayer(p, x.ref, cfg, { train: false });
      disposeRouting(routing);
      tree.dispose(p);
      return np.square(y).sum();
    };
    const g = grad(loss)(tree.ref(params));
    const gRouter = await read(np.abs(g.router.w.ref).sum());
    tree.dispose(g);
    if (n <= 3) assert.equal(gRouter[0], 0, `N=${n}: router gradient should be exactly zero`);
    else assert.ok(gRouter[0] > 0, "N=8: router gradient should be non-zero");
    tree.dispose(params);
    x.dispose();
  }
});
