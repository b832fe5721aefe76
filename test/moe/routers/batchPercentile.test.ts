import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../../src/engine/jax.js";
import { batchPercentileSelect } from "../../../src/moe/routers/batchPercentile.js";
import { disposeRouting } from "../../../src/moe/moeLayer.js";
import { applyRouter } from "../../../src/moe/router.js";
import { DEFAULT_ROUTER } from "../../../src/moe/routers/registry.js";
import { lcg, read, setup } from "../../helpers.js";

before(setup);

/** Slow reference: numpy's linear-interpolation percentile over all T·N values, strict >, argmax fallback per row. */
function referenceBatchPercentile(scores: number[][], tau: number): number[][] {
  const all = scores.flat().sort((a, b) => a - b);
  const pos = ((all.length - 1) * tau) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, all.length - 1);
  const theta = Math.fround(all[lo] + (all[hi] - all[lo]) * (pos - lo));
  return scores.map((row) => {
    const sel = row.map((v) => (v > theta ? 1 : 0));
    if (sel.some((v) => v === 1)) return sel;
    const best = row.indexOf(Math.max(...row));
    return row.map((_, i) => (i === best ? 1 : 0));
  });
}

test("batch-percentile selects the same (token, expert) pairs as a slow reference, ties included", async () => {
  const rand = lcg(13);
  for (const [t, n] of [[16, 4], [10, 8], [7, 3]]) {
    for (const tau of [0, 25, 50, 80, 100]) {
      for (const coarse of [false, true]) {
        const scores = Array.from({ length: t }, () => Array.from({ length: n }, () => (coarse ? Math.floor(rand() * 4) / 4 : rand())));
        const f32 = scores.map((row) => Array.from(new Float32Array(row)));
        const mask = await read(batchPercentileSelect(np.array(scores), tau));
        const want = referenceBatchPercentile(f32, tau);
        assert.deepEqual(mask, want.flat(), `T=${t} N=${n} τ=${tau} coarse=${coarse}`);
        const pairs = mask.reduce((a, b) => a + b, 0);
        assert.equal(pairs, want.flat().reduce((a, b) => a + b, 0), "pair count");
      }
    }
  }
});

test("batch-percentile counts vary across tokens on random inputs, every token gets at least one", async () => {
  const params = { w: random.normal(random.key(1), [8, 8]) };
  const r = applyRouter(params, random.normal(random.key(2), [64, 8]), { ...DEFAULT_ROUTER, kind: "batch-percentile" }, { train: true, key: random.key(3) });
  const active = await read(r.active.ref);
  assert.ok(active.every((a) => a >= 1 && a <= 8));
  assert.ok(new Set(active).size >= 3, `counts vary: ${[...new Set(active)]}`);
  disposeRouting(r);
  tree.dispose(params);
});
