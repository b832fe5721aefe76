import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../../src/engine/jax.js";
import { disposeRouting } from "../../../src/moe/moeLayer.js";
import { applyRouter } from "../../../src/moe/router.js";
import { DEFAULT_ROUTER } from "../../../src/moe/routers/registry.js";
import { topPSelect } from "../../../src/moe/routers/topP.js";
import { assertAllClose, lcg, read, setup } from "../../helpers.js";

before(setup);

/** Slow reference: largest first (the lower index on ties), add experts until their mass reaches p. */
function referenceTopP(row: number[], p: number): number[] {
  const order = [...row.keys()].sort((a, b) => row[b] - row[a] || a - b);
  const out: number[] = [];
  let mass = 0;
  for (const i of order) {
    out.push(i);
    mass += row[i];
    if (mass >= p) break;
  }
  return out.sort((a, b) => a - b);
}

test("top-p selects the fewest experts whose mass reaches p, as a slow loop does", async () => {
  const rand = lcg(21);
  for (const n of [2, 4, 8]) {
    for (const p of [0.2, 0.4, 0.7, 0.95, 1]) {
      const rows = 40;
      // Gates (rows sum to 1), peaked or flat; and noisy gates that may be negative.
      const gates = Array.from({ length: rows }, () => {
        const z = Array.from({ length: n }, () => Math.exp(4 * rand()));
        const s = z.reduce((a, b) => a + b, 0);
        return z.map((v) => v / s);
      });
      const noisy = gates.map((row) => row.map((v) => v + 0.2 * (rand() - 0.5)));
      for (const [name, scores] of [["gates", gates], ["noisy", noisy]] as const) {
        const mask = await read(topPSelect(np.array(scores), p));
        const f32 = scores.map((row) => Array.from(new Float32Array(row)));
        f32.forEach((row, t) => {
          const got = [...row.keys()].filter((i) => mask[t * n + i] === 1);
          assert.deepEqual(got, referenceTopP(row, p), `${name} n=${n} p=${p} row ${JSON.stringify(row)}`);
        });
      }
    }
  }
});

test("top-p counts vary across tokens; the entropy loss is mean −Σ g log g with its coefficient", async () => {
  const params = { w: random.normal(random.key(1), [8, 6]).mul(2) };
  const cfg = { ...DEFAULT_ROUTER, kind: "top-p" as const, p: 0.6, entropyCoef: 0.5 };
  const r = applyRouter(params, random.normal(random.key(2), [32, 8]), cfg, { train: false });
  const active = await read(r.active.ref);
  assert.ok(new Set(active).size > 1, `counts vary: ${active}`);
  const probs = await read(r.probs.ref);
  let h = 0;
  for (let i = 0; i < probs.length; i++) h -= probs[i] * Math.log(probs[i]);
  h /= 32;
  assertAllClose(await read(r.losses!.entropy!.ref), [h], { rtol: 1e-4, atol: 1e-6 }, "entropy");
  assertAllClose(await read(r.auxLoss.ref), [0.5 * h], { rtol: 1e-4, atol: 1e-6 }, "auxLoss");
  disposeRouting(r);
  tree.dispose(params);
});
