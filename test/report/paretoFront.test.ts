import assert from "node:assert/strict";
import { test } from "node:test";
import { paretoFront, type CostValue } from "../../src/report/paretoFront.js";
import { lcg } from "../helpers.js";

/** The definition, one pair at a time: i is on the front when no j dominates it. */
function slowFront(points: CostValue[]): number[] {
  const dominates = (j: CostValue, i: CostValue) => j.cost <= i.cost && j.value >= i.value && (j.cost < i.cost || j.value > i.value);
  return points
    .map((_, i) => i)
    .filter((i) => !points.some((q, j) => j !== i && dominates(q, points[i])))
    .sort((a, b) => points[a].cost - points[b].cost || a - b);
}

test("Pareto front: a dominated point is left out, the rest in increasing cost", () => {
  const points = [
    { cost: 4, value: 97 }, // 0: on the front
    { cost: 2, value: 95 }, // 1: on the front (cheapest)
    { cost: 5, value: 96 }, // 2: dominated by 0 (costs more, scores less)
    { cost: 3, value: 96.5 }, // 3: on the front
    { cost: 6, value: 98 }, // 4: on the front (best)
  ];
  assert.deepEqual(paretoFront(points), [1, 3, 0, 4]);
});

test("Pareto front ties: equal cost keeps the higher value, equal value keeps the cheaper, exact duplicates both stay", () => {
  // Same cost 2: only the 96 stays.
  assert.deepEqual(paretoFront([{ cost: 2, value: 95 }, { cost: 2, value: 96 }]), [1]);
  // Same value 96: only the cheaper stays.
  assert.deepEqual(paretoFront([{ cost: 3, value: 96 }, { cost: 2, value: 96 }]), [1]);
  // Equal in both: neither dominates the other, both are on the front, in input order.
  assert.deepEqual(paretoFront([{ cost: 5, value: 97 }, { cost: 2, value: 96 }, { cost: 2, value: 96 }]), [1, 2, 0]);
  // A duplicate of a dominated point is dominated too.
  assert.deepEqual(paretoFront([{ cost: 1, value: 99 }, { cost: 2, value: 96 }, { cost: 2, value: 96 }]), [0]);
  assert.deepEqual(paretoFront([]), []);
  assert.deepEqual(paretoFront([{ cost: 7, value: 1 }]), [0]);
});

test("Pareto front equals the pairwise definition on random points with many ties", () => {
  const rand = lcg(21);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rand() * 12);
    // Few distinct values, so that ties in cost, in value and in both are common.
    const points = Array.from({ length: n }, () => ({ cost: Math.floor(rand() * 5), value: Math.floor(rand() * 5) }));
    assert.deepEqual(paretoFront(points), slowFront(points), JSON.stringify(points));
  }
});
