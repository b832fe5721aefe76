import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { expertSchedule, type ScheduleKind } from "../../src/moe/schedules.js";

// Expected lists worked out by hand from spec §3 (E_max = 8, E_min = 2, halves round up).
const EXPECTED: Record<Exclude<ScheduleKind, "custom">, number[][]> = {
  uniform: [[8], [8, 8], [8, 8, 8], [8, 8, 8, 8], [8, 8, 8, 8, 8], [8, 8, 8, 8, 8, 8]],
  descending: [[8], [8, 2], [8, 5, 2], [8, 6, 4, 2], [8, 7, 5, 4, 2], [8, 7, 6, 4, 3, 2]],
  ascending: [[2], [2, 8], [2, 5, 8], [2, 4, 6, 8], [2, 4, 5, 7, 8], [2, 3, 4, 6, 7, 8]],
  pyramid: [[2], [2, 2], [2, 8, 2], [2, 6, 6, 2], [2, 5, 8, 5, 2], [2, 4, 7, 7, 4, 2]],
  wave: [[5], [5, 5], [5, 5, 5], [5, 8, 2, 5], [5, 8, 5, 2, 5], [5, 8, 7, 3, 2, 5]],
  valley: [[8], [8, 8], [8, 2, 8], [8, 4, 4, 8], [8, 5, 2, 5, 8], [8, 6, 3, 3, 6, 8]],
};

test("schedules give the exact expert lists for L = 1..6", () => {
  for (const [kind, lists] of Object.entries(EXPECTED)) {
    lists.forEach((expected, i) => {
      assert.deepEqual(expertSchedule(i + 1, { kind: kind as ScheduleKind, eMax: 8, eMin: 2 }), expected, `${kind} L=${i + 1}`);
    });
  }
});

test("schedules match the independent implementation's fixture (L = 4)", () => {
  const fx = JSON.parse(readFileSync(new URL("../../../shared/fixtures/percentile-router.json", import.meta.url), "utf8"));
  for (const [kind, expected] of Object.entries(fx.schedules_L4_emax8_emin2 as Record<string, number[]>)) {
    assert.deepEqual(expertSchedule(4, { kind: kind as ScheduleKind, eMax: 8, eMin: 2 }), expected, kind);
  }
});

test("values are clamped to [eMin, eMax] and custom lists pass through", () => {
  for (const kind of ["uniform", "descending", "ascending", "pyramid", "wave", "valley"] as const) {
    for (let L = 1; L <= 8; L++) {
      for (const v of expertSchedule(L, { kind, eMax: 5, eMin: 3 })) assert.ok(v >= 3 && v <= 5, `${kind} L=${L}: ${v}`);
    }
  }
  assert.deepEqual(expertSchedule(4, { kind: "custom", eMax: 8, eMin: 2, custom: [8, 4, 4, 2] }), [8, 4, 4, 2]);
  assert.throws(() => expertSchedule(3, { kind: "custom", eMax: 8, eMin: 2, custom: [8, 4] }), /needs 3/);
});
