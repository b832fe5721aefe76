import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../../src/engine/jax.js";
import { gshardSelect } from "../../../src/moe/routers/gshard.js";
import { disposeRouting } from "../../../src/moe/moeLayer.js";
import { applyRouter } from "../../../src/moe/router.js";
import { DEFAULT_ROUTER, routerCapacity } from "../../../src/moe/routers/registry.js";
import { expertCapacity } from "../../../src/moe/routers/expertCapacity.js";
import { lcg, read, setup } from "../../helpers.js";

before(setup);

/** Slow reference of GShard's Algorithm 1: first choices in token order, then the wanted second choices behind them. */
function referenceGshard(gates: number[][], capacity: number, u?: number[]): { mask: number[][]; dropped: number[] } {
  const n = gates[0].length;
  const used = new Array<number>(n).fill(0);
  const mask = gates.map(() => new Array<number>(n).fill(0));
  const dropped = gates.map(() => 0);
  const firsts = gates.map((g) => g.indexOf(Math.max(...g)));
  firsts.forEach((e, t) => {
    if (used[e] < capacity) (mask[t][e] = 1), used[e]++;
    else dropped[t]++;
  });
  if (n < 2) return { mask, dropped };
  gates.forEach((g, t) => {
    const rest = g.map((v, i) => (i === firsts[t] ? -Infinity : v));
    const e = rest.indexOf(Math.max(...rest));
    if (u && !(u[t] < (2 * g[e]) / (g[firsts[t]] + g[e]))) return; // not wanted
    if (used[e] < capacity) (mask[t][e] = 1), used[e]++;
    else dropped[t]++;
  });
  return { mask, dropped };
}

function randomGates(rand: () => number, t: number, n: number): number[][] {
  return Array.from({ length: t }, () => {
    const z = Array.from({ length: n }, () => Math.exp(3 * rand()));
    const s = z.reduce((a, b) => a + b, 0);
    return z.map((v) => v / s);
  });
}

test("at most 2 experts per token, capacity respected, and the slow reference's choice (with and without the draw)", async () => {
  const rand = lcg(5);
  for (const [t, n, capacity] of [[30, 4, 9], [30, 4, 5], [24, 6, 3], [10, 1, 4]]) {
    const gates = randomGates(rand, t, n);
    for (const draw of [false, true]) {
      const u = draw ? Array.from({ length: t }, () => rand()) : undefined;
      const got = gshardSelect(np.array(gates), capacity, u ? np.array(u) : undefined);
      got.first.dispose();
      const mask = await read(got.mask);
      const dropped = await read(got.dropped);
      const want = referenceGshard(gates, capacity, u);
      const what = `T=${t} N=${n} C=${capacity} draw=${draw}`;
      assert.deepEqual(mask, want.mask.flat(), `${what}: mask`);
      assert.deepEqual(dropped, want.dropped, `${what}: dropped`);
      for (let tok = 0; tok < t; tok++) assert.ok(mask.slice(tok * n, (tok + 1) * n).reduce((a, b) => a + b, 0) <= Math.min(2, n));
      for (let e = 0; e < n; e++) assert.ok([...Array(t).keys()].reduce((s, tok) => s + mask[tok * n + e], 0) <= capacity, `${what}: expert ${e}`);
    }
  }
});

test("through the router: evaluation keeps both experts when capacity allows; training draws the second", async () => {
  const params = { w: random.normal(random.key(1), [8, 6]) };
  const x = random.normal(random.key(2), [32, 8]);
  const cfg = { ...DEFAULT_ROUTER, kind: "gshard" as const, capacityFactorEval: 3 }; // C = ⌈3·2·32/6⌉ = 32: nothing dropped
  const ev = applyRouter(params, x.ref, cfg, { train: false });
  assert.ok((await read(ev.active.ref)).every((a) => a === 2), "eval: two experts per token");
  const tr = applyRouter(params, x, cfg, { train: true, key: random.key(3) });
  const active = await read(tr.active.ref);
  const capacity = routerCapacity(32, 6, cfg, true)!;
  assert.equal(capacity, expertCapacity(2 * 32, 6, 1.25, 4), "top-2 capacity: room for both choices at f = 1");
  const mask = await read(tr.mask.ref);
  for (let e = 0; e < 6; e++) assert.ok([...Array(32).keys()].reduce((s, tok) => s + mask[tok * 6 + e], 0) <= capacity);
  assert.ok(active.every((a) => a <= 2));
  assert.ok(active.some((a) => a === 1), "training drops some second experts");
  const [balance, z, aux] = [await read(tr.losses!.balance!.ref), await read(tr.losses!.z!.ref), await read(tr.auxLoss.ref)];
  assert.ok(Math.abs(aux[0] - (0.01 * balance[0] + 0.001 * z[0])) < 1e-6, "Switch's losses and coefficients");
  for (const r of [ev, tr]) disposeRouting(r);
  tree.dispose(params);
});
