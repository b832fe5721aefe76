import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { expandSweep } from "../../src/sweep/expandSweep.js";
import { parseShard, shardRuns } from "../../src/sweep/shard.js";
import { parseSweepSpec } from "../../src/sweep/spec.js";

test("--shard i/n is 0-based and validated", () => {
  assert.deepEqual(parseShard("0/4"), { index: 0, count: 4 });
  assert.deepEqual(parseShard(" 3 / 4 "), { index: 3, count: 4 });
  for (const bad of ["4/4", "1/0", "-1/3", "1", "a/b", "1/2/3", "1.5/3", ""]) {
    assert.throws(() => parseShard(bad), (e: unknown) => e instanceof UserError && /--shard must be i\/n with 0 ≤ i < n/.test(e.message), bad);
  }
});

test("the shards cover every run exactly once, for any n, balanced to within one run", () => {
  const runs = expandSweep(parseSweepSpec("grid:\n  router: [percentile, topk, switch]\n  schedule: [uniform, descending]\ninclude:\n  - { model: dense }\nseeds: [0, 1, 2]", "s.yaml"));
  assert.equal(runs.length, 21);
  for (const n of [1, 2, 3, 4, 7, 21, 25]) {
    const shards = Array.from({ length: n }, (_, i) => shardRuns(runs, { index: i, count: n }));
    const ids = shards.flat().map((r) => r.id);
    assert.equal(ids.length, runs.length, `n = ${n}`);
    assert.deepEqual([...ids].sort(), runs.map((r) => r.id).sort(), `n = ${n}`);
    const sizes = shards.map((s) => s.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n = ${n}: ${sizes}`);
  }
});

test("a shard does not depend on the order runs come in", () => {
  const runs = expandSweep(parseSweepSpec("grid:\n  router: [percentile, topk, switch]\nseeds: [0, 1]", "s.yaml"));
  const reversed = [...runs].reverse();
  for (let i = 0; i < 4; i++) assert.deepEqual(shardRuns(reversed, { index: i, count: 4 }).map((r) => r.id), shardRuns(runs, { index: i, count: 4 }).map((r) => r.id));
  assert.deepEqual(shardRuns(runs, { index: 1, count: 4 }).map((r) => r.id), ["router=percentile,seed=1", "router=topk,seed=1"]);
});
