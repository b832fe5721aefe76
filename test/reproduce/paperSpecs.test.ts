import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/train/config.js";
import { BASELINE_ROUTERS, LM_DYNAMIC_ROUTERS, PAPER_SCHEDULES, paperSpecs } from "../../src/reproduce/paperSpecs.js";
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

test("reproduce paper's LM grid: the paper's four at Tiny and Small (3 seeds) and Medium first, then our extensions; --quick runs Tiny only, one seed", () => {
  const sweeps = runsOf(false).filter((s) => s.name.startsWith("lm-"));
  const configs = (name: string) => sweeps.find((s) => s.name === name)!.runs.map((r) => resolveConfig(r.config));
  assert.deepEqual(sweeps.slice(0, 3).map((s) => s.name), ["lm-tiny", "lm-small", "lm-medium"]);
  const paperFour = (cs: ReturnType<typeof configs>) => new Set(cs.map((c) => (c.model === "dense" ? "dense" : c.schedule)));
  for (const [name, scale, seeds] of [["lm-tiny", "tiny", 3], ["lm-small", "small", 3], ["lm-medium", "medium", 1]] as const) {
    const cs = configs(name);
    assert.equal(cs.length, 4 * seeds, name);
    assert.deepEqual(paperFour(cs), new Set(["dense", "uniform", "descending", "ascending"]));
    assert.ok(cs.every((c) => c.task === "lm" && c.scale === scale && c.corpus === "sotu" && c.epochs === 1 && c.maxSteps === undefined && !c.attention && c.budget === "free"));
    assert.ok(cs.every((c) => c.model === "dense" || c.router.kind === "percentile"));
  }
  assert.deepEqual(new Set(configs("lm-medium-seeds").map((c) => c.seed)), new Set([1, 2]));
  const schedules = configs("lm-small-schedules");
  assert.equal(schedules.length, (3 + 5) * 3, "pyramid, wave, valley free; the five non-uniform schedules matched; 3 seeds");
  assert.equal(schedules.filter((c) => c.budget === "matched").length, 15);
  assert.deepEqual(new Set(configs("lm-tiny-routers").map((c) => c.model === "moe" && c.router.kind)), new Set(LM_DYNAMIC_ROUTERS));
  assert.ok(configs("lm-tiny-gutenberg").every((c) => c.corpus === "gutenberg" && c.scale === "tiny"));
  assert.ok(configs("lm-small-attention").every((c) => c.attention));
  const ids = sweeps.flatMap((s) => s.runs.map((r) => `${s.name}/${r.id}`));
  assert.equal(new Set(ids).size, ids.length);
  const quick = runsOf(true).filter((s) => s.name.startsWith("lm-"));
  assert.deepEqual(quick.map((s) => s.name), ["lm-tiny"]);
  assert.equal(quick[0].runs.length, 4);
  assert.ok(quick[0].runs.map((r) => resolveConfig(r.config)).every((c) => c.scale === "tiny" && c.maxSteps !== undefined && c.seed === 0));
});
