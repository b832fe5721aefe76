import assert from "node:assert/strict";
import { test } from "node:test";
import { activeByLoss } from "../../src/analysis/activeByLoss.js";

test("activeByLoss: equal-count loss quantiles, lowest first, with each layer's mean active experts", () => {
  // 10 positions; the harder positions (higher loss) use more experts in layer 0, the same in layer 1.
  const losses = [5, 1, 9, 3, 7, 2, 10, 4, 8, 6];
  const layer0 = losses.map((x) => (x > 5 ? 3 : 1));
  const layer1 = losses.map(() => 2);
  const rows = activeByLoss(losses, [layer0, layer1], 5);
  assert.deepEqual(rows.map((r) => r.bucket), ["0–20%", "20–40%", "40–60%", "60–80%", "80–100%"]);
  assert.deepEqual(rows.map((r) => r.positions), [2, 2, 2, 2, 2]);
  assert.deepEqual(rows.map((r) => [r.lossFrom, r.lossTo, r.loss]), [[1, 2, 1.5], [3, 4, 3.5], [5, 6, 5.5], [7, 8, 7.5], [9, 10, 9.5]]);
  assert.deepEqual(rows.map((r) => r.active), [[1, 2], [1, 2], [2, 2], [3, 2], [3, 2]]);
});

test("activeByLoss: uneven counts split by rank, ties in position order, and no more rows than positions", () => {
  const rows = activeByLoss([0, 0, 0, 1, 1, 1, 1], [[1, 2, 3, 4, 5, 6, 7]], 3);
  assert.deepEqual(rows.map((r) => r.positions), [2, 2, 3]);
  assert.deepEqual(rows.map((r) => r.active[0]), [1.5, 3.5, 6], "the tied zeros keep their order: positions 0, 1 | 2, 3 | 4, 5, 6");
  assert.equal(activeByLoss([2, 1], [], 5).length, 2);
  assert.deepEqual(activeByLoss([2, 1], [], 5).map((r) => r.loss), [1, 2]);
  assert.throws(() => activeByLoss([1, 2], [[1]]), /1 active counts for 2 losses/);
});
