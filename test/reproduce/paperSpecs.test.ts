import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/train/config.js";
import { BASELINE_ROUTERS, PAPER_SCHEDULES, paperSpecs } from "../../src/reproduce/paperSpecs.js";
import { expandSweep } from "../../src/sweep/expandSweep.js";
import { sweepSpecSchema, type SweepSpec } from "../../src/sweep/spec.js";

function runsOf(quick: boolean) {
  return paperSpecs({ quick, corpus: "sotu" }).map(({ name, spec }) => {
    const parsed = sweepSpecSchema.parse(spec);
    return { name, runs: expandSweep({ ...parsed, name, out: `/tmp/${name}` } as SweepSpec) }; // validates every run's config
  });
}

for (const quick of [false, true]) {
  test(`reproduce paper${quick ? " --quick" : ""}: every image dataset has dense, the six schedules and four baselines, 3 seeds each`, () => {
    const sweeps = runsOf(quick);
    for (const dataset of ["mnist", "fashion-mnist", "cifar10"]) {
      const runs = sweeps.find((s) => s.name === `images-${dataset}`)!.runs;
      assert.equal(runs.length, 11 * 3);
      const configs = runs.map((r) => resolveConfig(r.config));
      assert.ok(configs.every((c) => c.dataset === dataset));
      assert.deepEqual(new Set(configs.map((c) => c.seed)), new Set([0, 1, 2]));
      const percentile = configs.filter((c) => c.model === "moe" && c.router.kind === "percentile");
      assert.deepEqual(new Set(percentile.map((c) => c.schedule)), new Set(PAPER_SCHEDULES));
      for (const kind of BASELINE_ROUTERS) assert.equal(configs.filter((c) => c.model === "moe" && c.router.kind === kind && c.schedule === "uniform").length, 3, kind);
      assert.equal(configs.filter((c) => c.model === "dense").length, 3);
      assert.ok(configs.every((c) => c.gradVariance !== undefined), "gradient variance is measured in every image run");
      assert.equal(configs.every((c) => c.maxSteps !== undefined), quick);
    }
  });
}

test("reproduce paper runs the three LM scales (3 seeds); --quick runs Tiny only, one seed", () => {
  const full = runsOf(false).find((s) => s.name === "language-models")!.runs.map((r) => resolveConfig(r.config));
  assert.equal(full.length, 3 * 4 * 3);
  assert.deepEqual(new Set(full.map((c) => c.scale)), new Set(["tiny", "small", "medium"]));
  assert.ok(full.every((c) => c.task === "lm" && c.epochs === 1 && c.maxSteps === undefined));
  const quick = runsOf(true).find((s) => s.name === "language-models")!.runs.map((r) => resolveConfig(r.config));
  assert.equal(quick.length, 4);
  assert.ok(quick.every((c) => c.scale === "tiny" && c.maxSteps !== undefined));
});
