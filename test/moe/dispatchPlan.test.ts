/**
 * The static dispatch plan (`auto` and explicit modes) and the layer's numeric capacity: capped
 * routing records, and every dispatch mode equal to dense-masked under the cap, gradients included.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { jit, numpy as np, random, tree, valueAndGrad } from "../../src/engine/jax.js";
import { planDispatch } from "../../src/moe/dispatchPlan.js";
import { applyMoeLayer, disposeRouting, initMoeLayer, type MoeLayerConfig, type MoeLayerParams } from "../../src/moe/moeLayer.js";
import { type RouterKind } from "../../src/moe/routers/registry.js";
import { DEFAULT_ROUTER } from "../../src/moe/routers/registry.js";
import { assertAllClose, read, setup } from "../helpers.js";

before(setup);

const router = (kind: RouterKind, extra = {}) => ({ ...DEFAULT_ROUTER, kind, ...extra });

test("auto plan at T=256, N=8: sparse only where rows + 0.3·T·K ≤ 40% of the dense rows", () => {
  // switch: capacity ⌈1.25·256/8⌉ = 40 slots → 320 rows, batched matmul (C ≤ 48).
  assert.deepEqual(planDispatch(256, 8, router("switch"), true), { mode: "gather", rows: 320, capacity: 40, batched: true, maxActive: 1 });
  // top-1 exact: gather would need C = T (2048 rows); grouped needs (256/32 + 8) blocks of 32 = 512 rows.
  assert.equal(planDispatch(256, 8, router("topk", { k: 1 }), true).mode, "grouped");
  assert.equal(planDispatch(256, 8, router("topk", { k: 1 }), true).rows, 512);
  // top-2 exact: grouped 768 rows > 0.35·2048 → dense; with a 1.25·k capacity factor: 640 rows, loop.
  assert.equal(planDispatch(256, 8, router("topk", { k: 2 }), true).mode, "dense");
  const capped = planDispatch(256, 8, router("topk", { k: 2 }), true, { capacity: 2.5 });
  assert.deepEqual(capped, { mode: "gather", rows: 640, capacity: 80, batched: false, maxActive: 2 });
  // Expert choice: 320 rows, but a token may have all 8 experts: 320 + 0.3·256·8 > 0.4·2048 → dense.
  assert.equal(planDispatch(256, 8, router("expert-choice"), true).mode, "dense");
  // GShard: C = ⌈1.25·2·256/8⌉ = 80 → 640 rows + 0.3·256·2 = 794 ≤ 819 → gather.
  assert.equal(planDispatch(256, 8, router("gshard"), true).mode, "gather");
  // Percentile and the other unbounded routers: exact dispatch needs N·T rows → dense.
  for (const kind of ["percentile", "threshold", "top-p", "batch-percentile"] as const) {
    assert.equal(planDispatch(256, 8, router(kind), true).mode, "dense", kind);
  }
  // Explicit modes are kept whatever they cost.
  assert.equal(planDispatch(256, 8, router("percentile"), true, { dispatch: "gather" }).mode, "gather");
  assert.equal(planDispatch(256, 8, router("switch"), true, { dispatch: "dense" }).mode, "dense");
  assert.equal(planDispatch(256, 8, router("switch"), true, { dispatch: "gather", expertMatmul: "loop" }).mode, "gather");
});

test("a capacity factor caps each expert at C tokens in the routing record and counts the drops", async () => {
  const t = 20;
  const cfg: MoeLayerConfig = { d: 6, h: 5, experts: 4, router: router("topk", { k: 2 }), capacity: 1.2, dispatch: "dense" };
  const c = Math.ceil((1.2 * t) / 4); // 6 slots
  const params = initMoeLayer(random.key(1), cfg);
  const x = random.normal(random.key(2), [t, 6]);
  const free = applyMoeLayer(params, x.ref, { ...cfg, capacity: "exact" }, { train: false });
  const capped = applyMoeLayer(params, x.ref, cfg, { train: false });
  const [m0, m1, w1, a1, d1] = [await read(free.routing.mask.ref), await read(capped.routing.mask.ref), await read(capped.routing.weights.ref), await read(capped.routing.active.ref), await read(capped.routing.dropped!.ref)];
  const seen = [0, 0, 0, 0];
  const want = m0.map((m, i) => (m === 1 && ++seen[i % 4] <= c ? 1 : 0));
  assert.deepEqual(m1, want, "first C tokens of each expert, in token order");
  assert.ok(m0.some((m, i) => m !== want[i]), "the test routes more than C tokens to some expert");
  for (let i = 0; i < t * 4; i++) if (m1[i] === 0) assert.equal(w1[i], 0, "dropped pairs get weight 0");
  for (let tok = 0; tok < t; tok++) {
    const row = (m: number[]) => m.slice(tok * 4, tok * 4 + 4).reduce((s, v) => s + v, 0);
    assert.equal(a1[tok], row(m1));
    assert.equal(d1[tok], row(m0) - row(m1));
  }
  for (const r of [free, capped]) {
    r.y.dispose();
    disposeRouting(r.routing);
  }
  tree.dispose([params, x]);
});

test("under a capacity factor, gather, grouped and auto equal dense-masked: outputs and gradients under jit", async () => {
  const t = 32;
  for (const kind of ["topk", "threshold", "gshard"] as const) {
    const base: MoeLayerConfig = { d: 8, h: 4, experts: 4, router: router(kind, { k: 2 }), capacity: 1.5, dispatch: "dense" };
    const params = initMoeLayer(random.key(7), base);
    const x = random.normal(random.key(8), [t, 8]);
    const cot = random.normal(random.key(9), [t, 8]);
    const run = async (cfg: MoeLayerConfig) => {
      const f = (p: MoeLayerParams, xx: np.Array, key: np.Array) => {
        const { y, routing } = applyMoeLayer(p, xx, cfg, { train: true, key });
        const aux = routing.auxLoss.ref;
        disposeRouting(routing);
        tree.dispose(p);
        return y.mul(cot.ref).sum().add(aux);
      };
      const [loss, [gp, gx]] = jit(valueAndGrad(f, { argnums: [0, 1] }))(tree.ref(params), x.ref, random.key(3)) as [np.Array, [MoeLayerParams, np.Array]];
      return [await read(loss), await read(gx), await read(gp.router.w), await read(gp.w1), ...(await Promise.all([gp.b1, gp.w2, gp.b2].map(read)))];
    };
    const want = await run(base);
    for (const dispatch of ["gather", "grouped", "auto"] as const) {
      const got = await run({ ...base, dispatch, blockSize: 4 });
      got.forEach((g, i) => assertAllClose(g, want[i], { rtol: 1e-4, atol: 1e-6 }, `${kind} ${dispatch}: output ${i}`));
    }
    tree.dispose([params, x, cot]);
  }
});
