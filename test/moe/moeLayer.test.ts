import assert from "node:assert/strict";
import { before, test } from "node:test";
import { grad, jit, numpy as np, random, tree } from "../../src/engine/jax.js";
import { applyMoeLayer, disposeRouting, initMoeLayer, type MoeLayerConfig, type MoeLayerParams } from "../../src/moe/moeLayer.js";
import { type RouterConfig } from "../../src/moe/routers/registry.js";
import { DEFAULT_ROUTER } from "../../src/moe/routers/registry.js";
import { assertAllClose, read, setup } from "../helpers.js";
import { hostParams, referenceLayer } from "./referenceLayer.js";

before(setup);

const CASES: { experts: number; router: RouterConfig }[] = [
  { experts: 8, router: { ...DEFAULT_ROUTER, kind: "percentile", tau: 50 } },
  { experts: 5, router: { ...DEFAULT_ROUTER, kind: "percentile", tau: 25 } },
  { experts: 3, router: { ...DEFAULT_ROUTER, kind: "percentile", tau: 50 } },
  { experts: 8, router: { ...DEFAULT_ROUTER, kind: "topk", k: 2 } },
  { experts: 6, router: { ...DEFAULT_ROUTER, kind: "topk", k: 1, renormalize: "softmax-of-gates" } },
];

test("the MoE layer equals a per-token loop over the selected experts (shapes and values)", async () => {
  for (const [i, c] of CASES.entries()) {
    const cfg: MoeLayerConfig = { d: 12, h: 6, experts: c.experts, router: c.router };
    const params = initMoeLayer(random.key(i), cfg);
    const t = 20;
    const x = random.normal(random.key(100 + i), [t, cfg.d]);
    const xs = await read(x.ref);
    for (const train of [false, true]) {
      const { y, routing } = applyMoeLayer(params, x.ref, cfg, { train, key: random.key(7) });
      assert.deepEqual(y.shape, [t, cfg.d]);
      assert.deepEqual(routing.mask.shape, [t, c.experts]);
      const mask = await read(routing.mask.ref);
      const weights = await read(routing.weights.ref);
      const probs = await read(routing.probs.ref);
      // Weights: renormalised over the selected set, independently recomputed from the probabilities.
      for (let tok = 0; tok < t; tok++) {
        const sel = [...Array(c.experts).keys()].filter((e) => mask[tok * c.experts + e] === 1);
        assert.ok(sel.length >= 1 && sel.length <= c.experts);
        const base = sel.map((e) => (c.router.renormalize === "gates" ? probs[tok * c.experts + e] : Math.exp(probs[tok * c.experts + e])));
        const z = base.reduce((a, b) => a + b, 0);
        sel.forEach((e, j) => assertAllClose([weights[tok * c.experts + e]], [base[j] / z], { rtol: 1e-5, atol: 1e-6 }, "weight"));
      }
      const expected = referenceLayer(await hostParams(params), xs, weights, mask, t, cfg);
      assertAllClose(await read(y), expected, { rtol: 1e-4, atol: 1e-5 }, `case ${i} train=${train} y`);
      disposeRouting(routing);
    }
    x.dispose();
    tree.dispose(params);
  }
});

test("gradients match central finite differences (float64)", async () => {
  const cfg: MoeLayerConfig = { d: 6, h: 5, experts: 6, router: { ...DEFAULT_ROUTER, noise: 0 } };
  const p32 = initMoeLayer(random.key(3), cfg);
  const params = tree.map((a: np.Array) => a.astype(np.float64), p32) as MoeLayerParams;
  const x = random.normal(random.key(4), [10, cfg.d]).astype(np.float64);
  const c = random.normal(random.key(5), [10, cfg.d]).astype(np.float64);
  const loss = (p: MoeLayerParams, xx: np.Array) => {
    const { y, routing } = applyMoeLayer(p, xx, cfg, { train: false });
    disposeRouting(routing);
    tree.dispose(p);
    return y.mul(c.ref).sum();
  };
  const [gp, gx] = grad(loss, { argnums: [0, 1] })(tree.ref(params), x.ref);
  const lossAt = async (p: MoeLayerParams, xx: np.Array) => (await read(loss(p, xx)))[0];
  // jax-js's wasm transcendental functions are float32-accurate approximations even in float64, so
  // differences are taken where the gradient is largest, with a step they do not drown.
  const eps = 1e-4;
  const largest = (g: number[], k: number) => [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, k);
  const leaves: [string, (p: MoeLayerParams) => np.Array][] = [
    ["w1", (p) => p.w1],
    ["b1", (p) => p.b1],
    ["w2", (p) => p.w2],
    ["b2", (p) => p.b2],
    ["router.w", (p) => p.router.w],
  ];
  for (const [name, get] of leaves) {
    const analytic = await read(get(gp).ref);
    const base = await read(get(params).ref);
    const shape = get(params).shape;
    for (const idx of largest(analytic, 3)) {
      const bump = async (delta: number) => {
        const v = base.slice();
        v[idx] += delta;
        const p2 = tree.ref(params);
        const leaf = np.array(new Float64Array(v), { dtype: np.float64 }).reshape(shape);
        const replaced = name === "router.w" ? { ...p2, router: { w: leaf } } : { ...p2, [name]: leaf };
        get(p2).dispose();
        return lossAt(replaced as MoeLayerParams, x.ref);
      };
      const fd = ((await bump(eps)) - (await bump(-eps))) / (2 * eps);
      assertAllClose([analytic[idx]], [fd], { rtol: 1e-3, atol: 1e-7 }, `d loss / d ${name}[${idx}]`);
    }
  }
  const gxs = await read(gx);
  const xs = await read(x.ref);
  for (const idx of largest(gxs, 3)) {
    const at = async (delta: number) => {
      const v = xs.slice();
      v[idx] += delta;
      return lossAt(tree.ref(params), np.array(new Float64Array(v), { dtype: np.float64 }).reshape(x.shape));
    };
    const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    assertAllClose([gxs[idx]], [fd], { rtol: 1e-3, atol: 1e-7 }, `d loss / d x[${idx}]`);
  }
  tree.dispose([gp, params, x, c]); // p32 was consumed by astype
});

test("jit equals eager, for the output and every gradient, in training mode with noise", async () => {
  const cfg: MoeLayerConfig = { d: 16, h: 8, experts: 8, router: DEFAULT_ROUTER };
  const params = initMoeLayer(random.key(11), cfg);
  const x = random.normal(random.key(12), [32, 16]);
  const f = (p: MoeLayerParams, xx: np.Array, key: np.Array) => {
    const { y, routing } = applyMoeLayer(p, xx, cfg, { train: true, key });
    disposeRouting(routing);
    tree.dispose(p);
    return np.square(y).sum();
  };
  const eager = grad(f)(tree.ref(params), x.ref, random.key(13));
  const jitted = jit(grad(f))(tree.ref(params), x.ref, random.key(13));
  for (const name of ["w1", "b1", "w2", "b2"] as const) {
    assertAllClose(await read(jitted[name]), await read(eager[name]), { rtol: 1e-4, atol: 1e-6 }, name);
  }
  assertAllClose(await read(jitted.router.w), await read(eager.router.w), { rtol: 1e-4, atol: 1e-6 }, "router.w");
  tree.dispose([params, x]);
});
