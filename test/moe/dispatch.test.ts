/**
 * Gather (capacity buffers) and grouped (sorted-segment) dispatch (spec §2.3) against the dense-masked layer: outputs and every gradient, eagerly and
 * under jit(valueAndGrad), for every router kind; capacity choice and dropping; no leaked buffers.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { trackBuffers } from "../../src/engine/liveBuffers.js";
import { jit, numpy as np, random, tree, valueAndGrad } from "../../src/engine/jax.js";
import { dispatchCapacity, dispatchExperts } from "../../src/moe/dispatch.js";
import { dispatchGrouped } from "../../src/moe/groupedDispatch.js";
import { applyMoeLayer, disposeRouting, initMoeLayer, type MoeLayerConfig, type MoeLayerParams } from "../../src/moe/moeLayer.js";
import { type RouterConfig, type RouterKind } from "../../src/moe/routers/registry.js";
import { DEFAULT_ROUTER, ROUTER_KINDS } from "../../src/moe/routers/registry.js";
import { assertAllClose, read, setup } from "../helpers.js";
import { hostParams, referenceLayer } from "./referenceLayer.js";

before(setup);

/** Small capacities so that the capacity routers drop tokens. */
const tight = (kind: RouterKind): RouterConfig => ({ ...DEFAULT_ROUTER, kind, capacityFactorTrain: 0.5, capacityFactorEval: 0.75, minCapacity: 1 });

type Grads = [np.Array, [MoeLayerParams, np.Array]];

test("every router kind: gather and grouped equal dense-masked, outputs and all gradients, eager and jit(valueAndGrad)", async () => {
  const t = 24;
  for (const [i, kind] of ROUTER_KINDS.entries()) {
    const base: MoeLayerConfig = { d: 8, h: 4, experts: 4, router: { ...tight(kind), jitter: 0.1 }, dispatch: "dense" };
    const params = initMoeLayer(random.key(20 + i), base);
    const x = random.normal(random.key(40 + i), [t, 8]);
    const c = random.normal(random.key(60 + i), [t, 8]);
    const lossFor = (cfg: MoeLayerConfig) => (p: MoeLayerParams, xx: np.Array, key: np.Array) => {
      const { y, routing } = applyMoeLayer(p, xx, cfg, { train: true, key });
      const aux = routing.auxLoss.ref;
      disposeRouting(routing);
      tree.dispose(p);
      return y.mul(c.ref).sum().add(aux);
    };
    const run = (cfg: MoeLayerConfig, jitted: boolean): Grads => {
      const vg = valueAndGrad(lossFor(cfg), { argnums: [0, 1] });
      return (jitted ? jit(vg) : vg)(tree.ref(params), x.ref, random.key(5)) as Grads;
    };
    const [lossD, [gpD, gxD]] = run(base, false);
    const want: Record<string, number[]> = { loss: await read(lossD), x: await read(gxD) };
    for (const [name, a] of leaves(gpD)) want[name] = await read(a);
    // Loop of matmuls eagerly and under jit; the batched variant under jit.
    const variants: [string, MoeLayerConfig, boolean][] = [
      ["gather eager", { ...base, dispatch: "gather" }, false],
      ["gather jit", { ...base, dispatch: "gather" }, true],
      ["gather batched jit", { ...base, dispatch: "gather", expertMatmul: "batched" }, true],
      ["grouped eager", { ...base, dispatch: "grouped", blockSize: 4 }, false],
      ["grouped jit", { ...base, dispatch: "grouped", blockSize: 4 }, true],
    ];
    for (const [what, cfg, jitted] of variants) {
      const [loss, [gp, gx]] = run(cfg, jitted);
      assertAllClose(await read(loss), want.loss, { rtol: 1e-5, atol: 1e-5 }, `${kind} ${what}: loss`);
      assertAllClose(await read(gx), want.x, { rtol: 1e-4, atol: 1e-6 }, `${kind} ${what}: d/dx`);
      for (const [name, a] of leaves(gp)) assertAllClose(await read(a), want[name], { rtol: 1e-4, atol: 1e-6 }, `${kind} ${what}: d/d${name}`);
    }
    assert.ok(want["router.w"].some((v) => v !== 0), `${kind}: the router receives a gradient`);
    tree.dispose([params, x, c]);
  }
});

function leaves(p: MoeLayerParams): [string, np.Array][] {
  return [
    ["router.w", p.router.w],
    ["w1", p.w1],
    ["b1", p.b1],
    ["w2", p.w2],
    ["b2", p.b2],
  ];
}

test("every router kind: gather and grouped equal dense-masked in evaluation (exact capacity)", async () => {
  for (const [i, kind] of ROUTER_KINDS.entries()) {
    const base: MoeLayerConfig = { d: 8, h: 4, experts: 5, router: tight(kind), dispatch: "dense" };
    const params = initMoeLayer(random.key(80 + i), base);
    const x = random.normal(random.key(90 + i), [20, 8]);
    const dense = applyMoeLayer(params, x.ref, base, { train: false });
    const gather = applyMoeLayer(params, x.ref, { ...base, dispatch: "gather" }, { train: false });
    const grouped = applyMoeLayer(params, x.ref, { ...base, dispatch: "grouped", blockSize: 3 }, { train: false });
    const want = await read(dense.y);
    assertAllClose(await read(gather.y), want, { rtol: 1e-5, atol: 1e-6 }, `${kind}: gather y`);
    assertAllClose(await read(grouped.y), want, { rtol: 1e-5, atol: 1e-6 }, `${kind}: grouped y`);
    for (const r of [dense.routing, gather.routing, grouped.routing]) {
      await read(r.mask.ref); // realise before disposing (docs/jax-js-notes.md, eager leak)
      disposeRouting(r);
    }
    tree.dispose([params, x]);
  }
});

test("exact capacity: the router's own capacity for switch/gshard/expert-choice, T otherwise; a factor clamps to [1, T]", () => {
  const r = (kind: RouterKind) => ({ ...DEFAULT_ROUTER, kind });
  assert.equal(dispatchCapacity(256, 8, r("topk"), true, "exact"), 256);
  assert.equal(dispatchCapacity(256, 8, r("percentile"), true, "exact"), 256);
  assert.equal(dispatchCapacity(256, 8, r("switch"), true, "exact"), 40); // ⌈1.25·256/8⌉
  assert.equal(dispatchCapacity(256, 8, r("switch"), false, "exact"), 64); // ⌈2·256/8⌉
  assert.equal(dispatchCapacity(256, 8, r("gshard"), true, "exact"), 80); // ⌈1.25·2·256/8⌉: top-2 room
  assert.equal(dispatchCapacity(256, 8, r("expert-choice"), false, "exact"), 40);
  assert.equal(dispatchCapacity(256, 8, r("topk"), true, 2.5), 80);
  assert.equal(dispatchCapacity(256, 8, r("topk"), true, 100), 256);
  assert.equal(dispatchCapacity(4, 8, r("topk"), true, 0.01), 1);
});

test("a capacity below an expert's load drops its later tokens, in token order", async () => {
  const t = 16;
  const cfg: MoeLayerConfig = { d: 6, h: 5, experts: 3, router: { ...DEFAULT_ROUTER, kind: "topk", k: 2 } };
  const params = initMoeLayer(random.key(1), cfg);
  const x = random.normal(random.key(2), [t, 6]);
  const xs = await read(x.ref);
  const { routing } = applyMoeLayer(params, x.ref, cfg, { train: false });
  const mask = await read(routing.mask.ref);
  const weights = await read(routing.weights.ref);
  disposeRouting(routing);
  for (const capacity of [1, 4, 7, t]) {
    const y = dispatchExperts(x.ref, np.array(mask).reshape([t, 3]), np.array(weights).reshape([t, 3]), params, capacity);
    // Reference: keep each expert's first `capacity` selected tokens.
    const seen = [0, 0, 0];
    const kept = mask.map((m, idx) => (m === 1 && ++seen[idx % 3] <= capacity ? 1 : 0));
    const expected = referenceLayer(await hostParams(params), xs, weights, kept, t, cfg);
    assertAllClose(await read(y), expected, { rtol: 1e-4, atol: 1e-5 }, `capacity ${capacity}`);
  }
  tree.dispose([params, x]);
});

test("the gather and grouped layers release all their buffers (eager, training, and jit(valueAndGrad))", async () => {
  for (const [kind, dispatch] of ROUTER_KINDS.flatMap((k) => [[k, "gather"], [k, "grouped"]] as const)) {
    const kcfg: MoeLayerConfig = { d: 8, h: 4, experts: 4, router: { ...tight(kind), jitter: 0.1 }, dispatch, blockSize: 4 };
    const params = initMoeLayer(random.key(1), kcfg);
    const f = (p: MoeLayerParams, xx: np.Array, key: np.Array) => {
      const out = applyMoeLayer(p, xx, kcfg, { train: true, key });
      disposeRouting(out.routing);
      tree.dispose(p);
      return np.square(out.y).sum();
    };
    const step = jit(valueAndGrad(f));
    const jitStep = async () => {
      const [loss, g] = step(tree.ref(params), random.normal(random.key(4), [16, 8]), random.key(5));
      await read(loss);
      tree.dispose(g);
    };
    // The first jit call keeps the compiled program's constants alive with its cache: not a leak.
    await jitStep();
    const tracker = await trackBuffers();
    const { y, routing } = applyMoeLayer(params, random.normal(random.key(2), [16, 8]), kcfg, { train: true, key: random.key(3) });
    for (const a of [y, routing.mask, routing.weights, routing.probs, routing.active, routing.auxLoss, routing.dropped]) {
      if (a) await read(a.ref);
    }
    y.dispose();
    disposeRouting(routing);
    await jitStep();
    const live = tracker.live();
    tracker.stop();
    tree.dispose(params);
    assert.equal(live, 0, `${kind} ${dispatch}: ${live} buffers leaked`);
  }
});

test("grouped dispatch is exact when every token picks the same expert (worst-case load)", async () => {
  const t = 10;
  const cfg: MoeLayerConfig = { d: 6, h: 5, experts: 4, router: { ...DEFAULT_ROUTER, kind: "topk", k: 1 } };
  const params = initMoeLayer(random.key(3), cfg);
  const x = random.normal(random.key(4), [t, 6]);
  const xs = await read(x.ref);
  const mask = Array.from({ length: t * 4 }, (_, i) => (i % 4 === 2 ? 1 : 0));
  const weights = mask.map((m, i) => m * (0.5 + i / 100));
  const y = dispatchGrouped(x.ref, np.array(mask).reshape([t, 4]), np.array(weights).reshape([t, 4]), params, t, 3);
  assertAllClose(await read(y), referenceLayer(await hostParams(params), xs, weights, mask, t, cfg), { rtol: 1e-4, atol: 1e-5 }, "y");
  tree.dispose([params, x]);
});
