import assert from "node:assert/strict";
import { test } from "node:test";
import { matchBudget } from "../../src/moe/budget.js";
import { expertSchedule, type ScheduleKind } from "../../src/moe/schedules.js";
import { resolveConfig } from "../../src/train/config.js";
import { expertsFor } from "../../src/train/imageTask.js";

type Named = Exclude<ScheduleKind, "custom">;
const KINDS: Named[] = ["uniform", "descending", "ascending", "pyramid", "wave", "valley"];

// Worked by hand (E_max = 8, E_min = 2): shares q = s·T/S, floors, then the remainder one expert at a
// time to the largest shortfall q − n (ties to the lower layer).
const EXPECTED: Record<Named, { L3: number[]; L4: number[] }> = {
  // [8,8,8] and [8,8,8,8] already total L·E_max.
  uniform: { L3: [8, 8, 8], L4: [8, 8, 8, 8] },
  // [8,5,2], S = 15, T = 24: q = 12.8, 8, 3.2 → 12, 8, 3 (23) → +1 to layer 0.
  // [8,6,4,2], S = 20, T = 32: q = 12.8, 9.6, 6.4, 3.2 → 12, 9, 6, 3 (30) → +1 to layers 0 (.8) and 1 (.6).
  descending: { L3: [13, 8, 3], L4: [13, 10, 6, 3] },
  ascending: { L3: [3, 8, 13], L4: [3, 6, 10, 13] },
  // [2,8,2], S = 12: q = 4, 16, 4 exactly (16 = the cap, 2·E_max). [2,6,6,2], S = 16: q = 4, 12, 12, 4.
  pyramid: { L3: [4, 16, 4], L4: [4, 12, 12, 4] },
  // [5,5,5] → 8 each. [5,8,2,5], S = 20: q = 8, 12.8, 3.2, 8 → 8, 12, 3, 8 (31) → +1 to layer 1.
  wave: { L3: [8, 8, 8], L4: [8, 13, 3, 8] },
  // [8,2,8], S = 18: q = 10.67, 2.67, 10.67 → 10, 2, 10 (22) → +1 to layer 0, then layers 1 and 2 tie
  // (.67 each) and layer 1 wins. [8,4,4,8], S = 24: q = 10.67, 5.33, 5.33, 10.67 → 10, 5, 5, 10 → +1 to layers 0 and 3.
  valley: { L3: [11, 3, 10], L4: [11, 5, 5, 11] },
};

test("budget matching: hand-worked lists for all six schedules at L = 3 and 4", () => {
  for (const kind of KINDS) {
    for (const L of [3, 4] as const) {
      const s = expertSchedule(L, { kind, eMax: 8, eMin: 2 });
      assert.deepEqual(matchBudget(s, 8), EXPECTED[kind][`L${L}`], `${kind} L=${L} from [${s}]`);
    }
  }
});

test("budget matching: the cap 2·E_max flattens a peaked shape; lists above budget shrink; clamps at 1", () => {
  // pyramid, E_min = 1, L = 3: [1, 8, 1], q = 2.4, 19.2, 2.4 → capped middle 16, the other 8 split 4 / 4.
  assert.deepEqual(matchBudget(expertSchedule(3, { kind: "pyramid", eMax: 8, eMin: 1 }), 8), [4, 16, 4]);
  assert.deepEqual(matchBudget([16, 16, 16, 16], 8), [8, 8, 8, 8]);
  // [20,1,1,1], E_max 4, T = 16, cap 8: floors 13, 0, 0, 0 → clamped 8, 1, 1, 1 (11) → +5 round the others.
  assert.deepEqual(matchBudget([20, 1, 1, 1], 4), [8, 3, 3, 2]);
  // The lower clamp overshoots: [1,1,1,9], E_max 1, T = 4, cap 2: 1, 1, 1, 2 (5) → −1 from layer 3.
  assert.deepEqual(matchBudget([1, 1, 1, 9], 1), [1, 1, 1, 1]);
  assert.deepEqual(matchBudget([3], 8), [8]);
  assert.throws(() => matchBudget([], 8), /no layers/);
  assert.throws(() => matchBudget([2, 0], 8), /counts ≥ 1/);
});

test("budget matching always reaches L·E_max within [1, 2·E_max] and keeps the schedule's order", () => {
  for (const kind of KINDS) {
    for (let eMax = 1; eMax <= 9; eMax++) {
      for (let eMin = 1; eMin <= eMax; eMin++) {
        for (let L = 1; L <= 8; L++) {
          const s = expertSchedule(L, { kind, eMax, eMin });
          const n = matchBudget(s, eMax);
          const what = `${kind} eMax=${eMax} eMin=${eMin} L=${L}: [${s}] → [${n}]`;
          assert.equal(n.reduce((a, b) => a + b, 0), L * eMax, what);
          assert.ok(n.every((v) => v >= 1 && v <= 2 * eMax), what);
          for (let i = 0; i < L; i++) {
            for (let j = 0; j < L; j++) {
              if (s[i] < s[j]) assert.ok(n[i] <= n[j], what);
              if (s[i] === s[j]) assert.ok(Math.abs(n[i] - n[j]) <= 1, what);
            }
          }
        }
      }
    }
  }
});

test("budget: matched in the run configuration rescales the model's experts; free (the default) does not; dense has none", () => {
  assert.equal(resolveConfig({}).budget, "free");
  assert.deepEqual(expertsFor(resolveConfig({ schedule: "descending" })), [8, 6, 4, 2]);
  assert.deepEqual(expertsFor(resolveConfig({ schedule: "descending", budget: "matched" })), [13, 10, 6, 3]);
  assert.deepEqual(expertsFor(resolveConfig({ experts: [4, 2], layers: 2, budget: "matched" })), [11, 5]);
  assert.deepEqual(expertsFor(resolveConfig({ model: "dense", budget: "matched" })), []);
  assert.throws(() => resolveConfig({ budget: "equal" }), /config\.budget/);
});
