/**
 * Properties every router shares: the routing record's invariants, the layer against a per-token
 * loop, jit against eager gradients (no NaN, also with dropped tokens), no leaked buffers, and the
 * config schema's defaults. Each router's defining property is tested in its own file.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { trackBuffers } from "../../src/engine/liveBuffers.js";
import { jit, numpy as np, random, tree, valueAndGrad } from "../../src/engine/jax.js";
import { combineWeights } from "../../src/moe/combineWeights.js";
import { applyMoeLayer, disposeRouting, initMoeLayer, type MoeLayerConfig, type MoeLayerParams } from "../../src/moe/moeLayer.js";
import { applyRouter } from "../../src/moe/router.js";
import { DEFAULT_ROUTER, ROUTER_KINDS, ROUTING_RULES, routerWidth, type RouterConfig, type RouterKind } from "../../src/moe/routers/registry.js";
import { defaultConfig, resolveConfig } from "../../src/train/config.js";
import { assertAllClose, read, setup } from "../helpers.js";
import { hostParams, referenceLayer } from "./referenceLayer.js";

before(setup);

/** The registry's facts about each rule, which the tests below hold against what its jax-js form does. */
const CAPACITY_KINDS: ReadonlySet<RouterKind> = new Set(ROUTER_KINDS.filter((k) => ROUTING_RULES[k].capacity));
/** Rules whose gates are ReLU(h / T): the record's probs are those gates normalised per token, and a token may get no expert. */
const RELU_KINDS: ReadonlySet<RouterKind> = new Set(ROUTER_KINDS.filter((k) => ROUTING_RULES[k].gate === "relu"));
/** Rules with null experts: a token's slots may all go to them, leaving it no real expert. */
const NULL_KINDS: ReadonlySet<RouterKind> = new Set(ROUTER_KINDS.filter((k) => ROUTING_RULES[k].routerWidth));
const RAW_GATE_KINDS: ReadonlySet<RouterKind> = new Set(ROUTER_KINDS.filter((k) => ROUTING_RULES[k].weights === "raw" && !RELU_KINDS.has(k)));

/** Small capacities so that tokens are dropped (all-zero rows) and those paths are exercised. */
const tight = (kind: RouterKind): RouterConfig => ({ ...DEFAULT_ROUTER, kind, capacityFactorTrain: 0.5, capacityFactorEval: 0.75, minCapacity: 1 });

test("every router kind: record invariants, and the layer equals a per-token loop (train and eval)", async () => {
  const t = 24;
  for (const [i, kind] of ROUTER_KINDS.entries()) {
    for (const experts of [6, 3]) {
      const cfg: MoeLayerConfig = { d: 8, h: 4, experts, router: tight(kind) };
      const params = initMoeLayer(random.key(i * 10 + experts), cfg);
      const x = random.normal(random.key(100 + i), [t, cfg.d]);
      const xs = await read(x.ref);
      for (const train of [false, true]) {
        const what = `${kind} N=${experts} train=${train}`;
        const { y, routing } = applyMoeLayer(params, x.ref, cfg, { train, key: random.key(7) });
        const mask = await read(routing.mask.ref);
        const weights = await read(routing.weights.ref);
        const probs = await read(routing.probs.ref);
        const active = await read(routing.active.ref);
        const aux = await read(routing.auxLoss.ref);
        assert.equal(aux.length, 1);
        assert.ok(Number.isFinite(aux[0]), `${what}: auxLoss finite`);
        assert.equal(routing.dropped !== undefined, CAPACITY_KINDS.has(kind), `${what}: dropped present iff capacity`);
        const dropped = routing.dropped ? await read(routing.dropped.ref) : [];
        for (let tok = 0; tok < t; tok++) {
          const row = (a: number[]) => a.slice(tok * experts, (tok + 1) * experts);
          const [m, w, g] = [row(mask), row(weights), row(probs)];
          assert.ok(m.every((v): boolean => v === 0 || v === 1), `${what}: mask is 0/1`);
          assert.equal(active[tok], m.reduce((a, b) => a + b, 0), `${what}: active is the mask's row sum`);
          assert.ok(w.every((v, e) => Number.isFinite(v) && (m[e] === 1 || v === 0)), `${what}: weights finite, zero off the mask`);
          if (ROUTING_RULES[kind].weights === "ones") {
            // top-any: weight 1 on every selected expert; the probs are the sigmoid scores normalised.
            assert.deepEqual(w, m, `${what}: weights are 1 on the selected experts`);
            assertAllClose([g.reduce((a, b) => a + b, 0)], [1], { rtol: 1e-5, atol: 1e-6 }, `${what}: probs normalised`);
            assert.ok(active[tok] >= 1, `${what}: at least one expert`);
            continue;
          }
          if (RELU_KINDS.has(kind)) {
            // Weights are the positive gates themselves; the record's probs are them normalised (a zero row for a token with none).
            const total = w.reduce((a, b) => a + b, 0);
            assert.ok(w.every((v, e) => (v > 0) === (m[e] === 1)), `${what}: the experts used are those with a positive gate`);
            assertAllClose(g, w.map((v) => (total > 0 ? v / total : 0)), { rtol: 1e-5, atol: 1e-6 }, `${what}: probs are the gates normalised`);
            continue;
          }
          assertAllClose([g.reduce((a, b) => a + b, 0)], [1], { rtol: 1e-5, atol: 1e-6 }, `${what}: gates sum to 1`);
          if (!CAPACITY_KINDS.has(kind) && !NULL_KINDS.has(kind)) assert.ok(active[tok] >= 1, `${what}: at least one expert`);
          if (RAW_GATE_KINDS.has(kind)) assertAllClose(w, g.map((v, e) => v * m[e]), { rtol: 1e-6, atol: 0 }, `${what}: weights are raw gates`);
          else if (active[tok] > 0) assertAllClose([w.reduce((a, b) => a + b, 0)], [1], { rtol: 1e-5, atol: 1e-6 }, `${what}: weights renormalised`);
          if (kind === "switch") assert.equal(active[tok] + dropped[tok], 1, `${what}: each token is kept or dropped`);
        }
        if (CAPACITY_KINDS.has(kind)) assert.ok(dropped.some((d) => d > 0), `${what}: the tight capacity drops some assignment`);
        const expected = referenceLayer(await hostParams(params), xs, weights, mask, t, cfg);
        assertAllClose(await read(y), expected, { rtol: 1e-4, atol: 1e-5 }, `${what}: y`);
        disposeRouting(routing);
      }
      x.dispose();
      tree.dispose(params);
    }
  }
});

test("every router kind: jit(valueAndGrad) equals eager, with jitter, noise and dropped tokens; no NaN", async () => {
  for (const [i, kind] of ROUTER_KINDS.entries()) {
    const cfg: MoeLayerConfig = { d: 8, h: 4, experts: 4, router: { ...tight(kind), jitter: 0.1 } };
    const params = initMoeLayer(random.key(20 + i), cfg);
    const x = random.normal(random.key(40 + i), [24, 8]);
    const c = random.normal(random.key(60 + i), [24, 8]);
    const f = (p: MoeLayerParams, xx: np.Array, key: np.Array) => {
      const { y, routing } = applyMoeLayer(p, xx, cfg, { train: true, key });
      const aux = routing.auxLoss.ref;
      disposeRouting(routing);
      tree.dispose(p);
      return y.mul(c.ref).sum().add(aux);
    };
    const [lossE, [gpE, gxE]] = valueAndGrad(f, { argnums: [0, 1] })(tree.ref(params), x.ref, random.key(5));
    const [lossJ, [gpJ, gxJ]] = jit(valueAndGrad(f, { argnums: [0, 1] }))(tree.ref(params), x.ref, random.key(5));
    assertAllClose(await read(lossJ), await read(lossE), { rtol: 1e-5, atol: 1e-6 }, `${kind}: loss`);
    const leaves: [string, np.Array, np.Array][] = [
      ["router.w", gpE.router.w, gpJ.router.w],
      ["w1", gpE.w1, gpJ.w1],
      ["b1", gpE.b1, gpJ.b1],
      ["w2", gpE.w2, gpJ.w2],
      ["b2", gpE.b2, gpJ.b2],
      ["x", gxE, gxJ],
    ];
    for (const [name, e, j] of leaves) {
      const ev = await read(e.ref);
      assert.ok(ev.every(Number.isFinite), `${kind}: eager d/d${name} finite`);
      assertAllClose(await read(j.ref), ev, { rtol: 1e-4, atol: 1e-6 }, `${kind}: jit vs eager d/d${name}`);
    }
    const routerGrad = await read(np.abs(gpE.router.w.ref).sum());
    assert.ok(routerGrad[0] > 0, `${kind}: the router receives a gradient`);
    tree.dispose([gpE, gpJ, gxE, gxJ, params, x, c]);
  }
});

test("every router kind: evaluation under jit equals eager", async () => {
  for (const [i, kind] of ROUTER_KINDS.entries()) {
    const cfg: MoeLayerConfig = { d: 8, h: 4, experts: 5, router: tight(kind) };
    const params = initMoeLayer(random.key(80 + i), cfg);
    const x = random.normal(random.key(90 + i), [20, 8]);
    const f = (p: MoeLayerParams, xx: np.Array) => {
      const { y, routing } = applyMoeLayer(p, xx, cfg, { train: false });
      tree.dispose(p);
      const { mask, auxLoss } = routing;
      routing.weights.dispose();
      routing.probs.dispose();
      routing.active.dispose();
      routing.dropped?.dispose();
      routing.losses?.balance?.dispose();
      routing.losses?.z?.dispose();
      routing.losses?.entropy?.dispose();
      routing.losses?.l1?.dispose();
      routing.losses?.nullBalance?.dispose();
      return [y, mask, auxLoss] as [np.Array, np.Array, np.Array];
    };
    const eager = f(tree.ref(params), x.ref);
    const jitted = jit(f)(tree.ref(params), x.ref);
    for (const [k, name] of ["y", "mask", "auxLoss"].entries()) {
      assertAllClose(await read(jitted[k]), await read(eager[k]), { rtol: 1e-5, atol: 1e-6 }, `${kind}: ${name}`);
    }
    tree.dispose([params, x]);
  }
});

test("every router kind releases all its buffers (eager, training)", async () => {
  for (const kind of ROUTER_KINDS) {
    const tracker = await trackBuffers();
    const cfg = { ...tight(kind), jitter: 0.1 };
    const params = { w: random.normal(random.key(1), [8, routerWidth(4, cfg)]) };
    const r = applyRouter(params, random.normal(random.key(2), [16, 8]), cfg, { train: true, key: random.key(3), experts: 4 });
    // Realise every output first: disposing a still-lazy result can leave its inputs pending.
    for (const a of [r.mask, r.weights, r.probs, r.active, r.auxLoss, r.dropped, r.losses?.balance, r.losses?.z, r.losses?.entropy, r.losses?.l1, r.losses?.nullBalance]) {
      if (a) await read(a.ref);
    }
    disposeRouting(r);
    tree.dispose(params);
    const live = tracker.live();
    tracker.stop();
    assert.equal(live, 0, `${kind}: ${live} buffers leaked`);
  }
});

test("combineWeights: an all-zero mask row gets zero weights and zero, finite gradients (eager and jit)", async () => {
  const probs = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]);
  const mask = np.array([[1, 1, 0], [0, 0, 0], [0, 0, 1]]);
  const c = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  for (const renormalize of ["gates", "softmax-of-gates"] as const) {
    const w = await read(combineWeights(probs.ref, mask.ref, renormalize));
    const e = [Math.exp(0.5), Math.exp(0.3)];
    const first = renormalize === "gates" ? [0.625, 0.375] : [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])];
    assertAllClose(w, [...first, 0, 0, 0, 0, 0, 0, 1], { rtol: 1e-6, atol: 1e-7 }, `${renormalize} weights`);
    const f = (p: np.Array) => combineWeights(p, mask.ref, renormalize).mul(c.ref).sum();
    const [, gE] = valueAndGrad(f)(probs.ref);
    const [, gJ] = jit(valueAndGrad(f))(probs.ref);
    const ge = await read(gE);
    assert.ok(ge.every(Number.isFinite), `${renormalize}: gradient finite`);
    assert.deepEqual(ge.slice(3), [0, 0, 0, 0, 0, 0], `${renormalize}: empty and single rows have zero gradient`);
    assertAllClose(await read(gJ), ge, { rtol: 1e-5, atol: 1e-7 }, `${renormalize}: jit gradient`);
  }
  tree.dispose([probs, mask, c]);
});

test("the config schema's router defaults are DEFAULT_ROUTER, and bad router values are rejected", () => {
  assert.deepEqual(defaultConfig().router, DEFAULT_ROUTER);
  for (const kind of ROUTER_KINDS) assert.equal(resolveConfig({ router: { kind } }).router.kind, kind);
  assert.throws(() => resolveConfig({ router: { p: 0 } }), /config\.router\.p/);
  assert.throws(() => resolveConfig({ router: { capacityFactorTrain: -1 } }), /config\.router\.capacityFactorTrain/);
  assert.throws(() => resolveConfig({ router: { capacity: 2 } }), /unknown key/);
});

test("every router kind: the router's gradient (weights and auxiliary losses) matches central differences (float64)", async () => {
  for (const [i, kind] of ROUTER_KINDS.entries()) {
    // top-any's weights are a step function of the scores: its gradient is DynMoE's straight-through
    // estimator, not the derivative (0 almost everywhere); consistency.test.ts holds its two forms together.
    if (ROUTING_RULES[kind].weights === "ones") continue;
    // Strong auxiliary coefficients so that their gradients are checked too, not drowned by the output's.
    const router: RouterConfig = { ...tight(kind), balanceCoef: 1, zLossCoef: 0.1, entropyCoef: 0.5 };
    const cfg: MoeLayerConfig = { d: 6, h: 4, experts: 4, router };
    const params = tree.map((a: np.Array) => a.astype(np.float64), initMoeLayer(random.key(200 + i), cfg)) as MoeLayerParams;
    const x = random.normal(random.key(300 + i), [12, 6]).astype(np.float64);
    const c = random.normal(random.key(400 + i), [12, 6]).astype(np.float64);
    const loss = (w: np.Array) => {
      const { y, routing } = applyMoeLayer({ ...tree.ref(params), router: { w } }, x.ref, cfg, { train: false });
      const aux = routing.auxLoss.ref;
      disposeRouting(routing);
      return y.mul(c.ref).sum().add(aux);
    };
    const w0 = await read(params.router.w.ref);
    const [, g] = valueAndGrad(loss)(params.router.w.ref);
    const analytic = await read(g);
    const eps = 1e-4;
    const at = async (idx: number, delta: number) => {
      const v = w0.slice();
      v[idx] += delta;
      return (await read(loss(np.array(new Float64Array(v), { dtype: np.float64 }).reshape(params.router.w.shape))))[0];
    };
    const largest = [...analytic.keys()].sort((a, b) => Math.abs(analytic[b]) - Math.abs(analytic[a])).slice(0, 3);
    for (const idx of largest) {
      const fd = ((await at(idx, eps)) - (await at(idx, -eps))) / (2 * eps);
      assertAllClose([analytic[idx]], [fd], { rtol: 2e-3, atol: 1e-6 }, `${kind}: d loss / d router.w[${idx}]`);
    }
    tree.dispose([params, x, c]);
  }
});
