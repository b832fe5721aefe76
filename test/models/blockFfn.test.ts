/**
 * A block's FFN part (`src/models/blockFfn.ts`): shared experts are one always-on FFN of hidden S·h
 * added to the MoE layer's output, and models without them initialise exactly as before.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { random, tree } from "../../src/engine/jax.js";
import { applyBlockFfn, initBlockFfn } from "../../src/models/blockFfn.js";
import { applyFfn } from "../../src/models/ffn.js";
import type { StackConfig } from "../../src/models/stackConfig.js";
import { applyMoeLayer, initMoeLayer, disposeRouting } from "../../src/moe/moeLayer.js";
import { routerDefaults } from "../../src/moe/routers/registry.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { assertAllClose, setup } from "../helpers.js";

before(setup);

const cfg = (sharedExperts: number): StackConfig => ({ kind: "moe", d: 8, h: 6, layers: 1, experts: [4], router: routerDefaults("topk"), sharedExperts });

test("shared experts: an FFN of hidden S·h beside the MoE layer, added to its output", async () => {
  const block = initBlockFfn(seedKey(3), cfg(2), 0);
  assert.deepEqual(block.shared!.up.w.shape, [8, 12]);
  const x = random.normal(random.key(5), [10, 8]);
  const { y, routing } = applyBlockFfn(block, x.ref, cfg(2), 0, { train: false });
  const moe = applyMoeLayer(block.moe!, x.ref, { d: 8, h: 6, experts: 4, router: routerDefaults("topk") }, { train: false });
  const expected = moe.y.add(applyFfn(block.shared!, x));
  assertAllClose(Array.from((await y.data()) as Float32Array), Array.from((await expected.data()) as Float32Array), { rtol: 1e-6, atol: 1e-7 }, "y");
  disposeRouting(routing!);
  disposeRouting(moe.routing);
  tree.dispose(block);
});

test("without shared experts a block initialises exactly as the MoE layer alone (existing runs keep their weights)", async () => {
  const block = initBlockFfn(seedKey(3), cfg(0), 0);
  assert.equal(block.shared, undefined);
  const alone = initMoeLayer(seedKey(3), { d: 8, h: 6, experts: 4, router: routerDefaults("topk") });
  assert.deepEqual(Array.from((await block.moe!.w1.ref.data()) as Float32Array), Array.from((await alone.w1.ref.data()) as Float32Array));
  tree.dispose([block, alone]);
});
