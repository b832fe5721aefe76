import assert from "node:assert/strict";
import { before, test } from "node:test";
import { numpy as np, random, tree } from "../../../src/engine/jax.js";
import { expertChoiceCapacity, expertChoiceSelect } from "../../../src/moe/routers/expertChoice.js";
import { applyMoeLayer, disposeRouting, initMoeLayer, type MoeLayerConfig } from "../../../src/moe/moeLayer.js";
import { DEFAULT_ROUTER } from "../../../src/moe/routers/registry.js";
import { lcg, read, setup } from "../../helpers.js";

before(setup);

test("capacity C = ⌈T·f/N⌉, clamped to [1, T]", () => {
  assert.equal(expertChoiceCapacity(32, 8, 1.25), 5);
  assert.equal(expertChoiceCapacity(30, 8, 2), 8);
  assert.equal(expertChoiceCapacity(4, 8, 0.5), 1);
  assert.equal(expertChoiceCapacity(10, 2, 5), 10);
});

test("each expert takes exactly C tokens: those with its largest gates (ties: the earlier token)", async () => {
  const rand = lcg(9);
  const levels = [0.05, 0.1, 0.2, 0.4];
  for (const [t, n, c] of [[20, 4, 5], [20, 4, 13], [16, 8, 2], [9, 3, 9]]) {
    // Coarse levels make many ties.
    const scores = Array.from({ length: t }, () => Array.from({ length: n }, () => levels[Math.floor(rand() * levels.length)]));
    const mask = await read(expertChoiceSelect(np.array(scores), c));
    for (let e = 0; e < n; e++) {
      const order = [...Array(t).keys()].sort((a, b) => scores[b][e] - scores[a][e] || a - b);
      const want = new Set(order.slice(0, c));
      for (let tok = 0; tok < t; tok++) assert.equal(mask[tok * n + e], want.has(tok) ? 1 : 0, `T=${t} N=${n} C=${c} expert ${e} token ${tok}`);
    }
  }
});

test("counts vary per token (0..N); tokens that no expert picks get zero MoE output", async () => {
  const cfg: MoeLayerConfig = { d: 8, h: 4, experts: 4, router: { ...DEFAULT_ROUTER, kind: "expert-choice", capacityFactorTrain: 0.75 } };
  const params = initMoeLayer(random.key(1), cfg);
  const t = 16;
  for (const train of [false, true]) {
    const { y, routing } = applyMoeLayer(params, random.normal(random.key(2), [t, 8]), cfg, { train, key: random.key(3) });
    const active = await read(routing.active.ref);
    const dropped = await read(routing.dropped!.ref);
    assert.equal(active.reduce((a, b) => a + b, 0), 4 * expertChoiceCapacity(t, 4, 0.75), "N·C pairs");
    assert.ok(new Set(active).size > 1, `train=${train}: counts vary across tokens: ${active}`);
    assert.ok(active.some((a) => a === 0), "some token is picked by no expert");
    const ys = await read(y);
    active.forEach((a, tok) => {
      assert.equal(dropped[tok], a === 0 ? 1 : 0);
      if (a === 0) assert.ok(ys.slice(tok * 8, (tok + 1) * 8).every((v) => v === 0), `token ${tok}: output exactly zero`);
    });
    disposeRouting(routing);
  }
  tree.dispose(params);
});
