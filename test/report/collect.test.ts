import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { ffnFlopsPerToken } from "../../src/analysis/flops.js";
import type { ImageDataset, ImageSplit } from "../../src/data/types.js";
import { UserError } from "../../src/errors.js";
import { collectRuns, type RunGroup } from "../../src/report/collect.js";
import { effectiveConfig, groupLabel, labelKeys } from "../../src/report/groupRuns.js";
import { meanStd, seriesBand } from "../../src/report/meanStd.js";
import { train } from "../../src/train/train.js";
import { assertAllClose, lcg, setup } from "../helpers.js";
import { SMALL, writeFixtureRun, writeImageCollection } from "./fixtures.js";

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "dynamoe-collect-"));
  writeImageCollection(root);
});

const bySchedule = (groups: RunGroup[], model: string, schedule: string | null) => groups.find((g) => g.model === model && g.schedule === schedule)!;

test("mean and sample std by hand", () => {
  assert.deepEqual(meanStd([90, 91, 92]), { mean: 91, std: 1, n: 3 });
  const m = meanStd([80, 82]);
  assert.equal(m.mean, 81);
  assertAllClose([m.std!], [Math.SQRT2]);
  assert.deepEqual(meanStd([5]), { mean: 5, std: null, n: 1 });
  assert.deepEqual(meanStd([]), { mean: null, std: null, n: 0 });
  assert.deepEqual(seriesBand([[{ x: 20, y: 1 }, { x: 40, y: 0.5 }], [{ x: 20, y: 3 }]]), [
    { x: 20, mean: 2, std: Math.SQRT2, n: 2 },
    { x: 40, mean: 0.5, std: null, n: 1 },
  ]);
});

test("runs that differ only in seed, paths and checkpointing form one group", () => {
  const c = collectRuns(root);
  assert.equal(c.runs.length, 9);
  assert.equal(c.groups.length, 3, c.groups.map((g) => g.label).join(" / "));
  const uniform = bySchedule(c.groups, "moe", "uniform");
  const descending = bySchedule(c.groups, "moe", "descending");
  const dense = bySchedule(c.groups, "dense", null);
  assert.deepEqual(uniform.seeds, [0, 1, 2]);
  assert.deepEqual(descending.seeds, [0, 1, 2]); // seed 3 is unfinished
  assert.deepEqual(descending.unfinished.map((r) => r.name), ["images/descending-seed3"]);
  assert.deepEqual(dense.seeds, [0, 1]); // different (unused) routers: still one dense group
  // Labels name only what tells the groups apart.
  assert.deepEqual(c.labelKeys, ["model", "schedule"]);
  assert.equal(uniform.label, "model=moe, schedule=uniform");
  assert.equal(dense.label, "model=dense");
});

test("per group: mean ± std, params, active experts, FLOPs, steps, ms/step, curves", () => {
  const c = collectRuns(root);
  const uniform = bySchedule(c.groups, "moe", "uniform");
  const descending = bySchedule(c.groups, "moe", "descending");
  const dense = bySchedule(c.groups, "dense", null);
  assertAllClose([uniform.accuracy.mean!, uniform.accuracy.std!], [91, 1]);
  assertAllClose([descending.accuracy.mean!, descending.accuracy.std!], [96, 1]);
  assertAllClose([dense.accuracy.mean!, dense.accuracy.std!], [81, Math.SQRT2]);
  assert.equal(uniform.perplexity, null);
  assert.deepEqual([uniform.params, descending.params, dense.params], [5000, 4000, 3000]);
  assert.deepEqual(uniform.activeExperts, [2, 2]);
  assert.deepEqual(descending.activeExperts, [2, 1]);
  assert.deepEqual(descending.experts, [4, 2]);
  // FLOPs per token, d = h = 8: an FFN is 2·(64 + 64) = 256; an MoE layer adds its router 2·8·N.
  assert.equal(ffnFlopsPerToken(8, 8), 256);
  assert.equal(uniform.activeFlops.mean, 2 * (2 * 8 * 4 + 2 * 256)); // 1152
  assert.equal(descending.activeFlops.mean, 2 * 8 * 4 + 2 * 256 + (2 * 8 * 2 + 256)); // 864
  assert.equal(dense.activeFlops.mean, 2 * 256); // from d and h: no routing stats
  assert.equal(uniform.steps.mean, 40);
  assert.equal(uniform.msPerStep.mean, 11); // 10, 11, 12
  assert.deepEqual(uniform.curves.map((s) => s.points.map((p) => p.loss)), [[1, 0.5], [2, 1.5], [3, 2.5]]);
  assert.deepEqual(uniform.kHistograms.map((h) => h.fractions), [[0, 0, 1, 0, 0], [0, 0, 1, 0, 0]]);
  assert.deepEqual(descending.kHistograms.map((h) => h.experts), [4, 2]);
  assert.deepEqual(uniform.gradVariance, []);
  assert.equal(c.quick.quick, false);
});

test("quick runs: maxSteps, trainLimit or a QUICK marker", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-quick-"));
  writeFixtureRun(dir, { name: "a", config: { ...SMALL, model: "dense", maxSteps: 5, trainLimit: 64 }, steps: 5, stoppedEarly: true });
  const q = collectRuns(dir).quick;
  assert.equal(q.quick, true);
  assert.ok(q.reasons.some((r) => r.startsWith("maxSteps=5")) && q.reasons.some((r) => r.startsWith("trainLimit=64")), q.reasons.join("; "));
  const marked = mkdtempSync(join(tmpdir(), "dynamoe-quick-"));
  writeFixtureRun(marked, { name: "a", config: { ...SMALL, model: "dense" } });
  assert.equal(collectRuns(marked).quick.quick, false);
  writeFileSync(join(marked, "QUICK"), "");
  assert.deepEqual(collectRuns(marked).quick.reasons, ["a QUICK marker file in the folder"]);
});

test("grad-variance.jsonl is read where present; a torn last line is skipped", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-gv-"));
  const lines = [
    { step: 20, k: 4, total: 2, groups: { router: 0.5 }, lossVariance: 0.1 },
    { step: 40, k: 4, total: 1, groups: { router: 0.25 }, lossVariance: 0.05 },
  ];
  const run = writeFixtureRun(dir, { name: "r", config: { ...SMALL, model: "dense" }, gradVariance: lines });
  writeFileSync(join(run, "grad-variance.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + '\n{"step":60,"k"', { flag: "w" });
  const c = collectRuns(dir);
  assert.deepEqual(c.groups[0].gradVariance, [{ seed: 0, lines }]);
  assert.equal(c.runs[0].problems.length, 1);
});

test("language-model configurations drop the unused image keys; dense drops router keys", () => {
  const lm = effectiveConfig({ task: "lm", dataset: "mnist", corpus: "sotu", attention: false, heads: 2, model: "dense", router: { kind: "topk" }, schedule: "uniform", seed: 3 });
  assert.deepEqual(lm, { task: "lm", corpus: "sotu", attention: false, model: "dense" });
  const img = effectiveConfig({ task: "image", dataset: "mnist", corpus: "sotu", scale: "tiny", model: "moe", schedule: "uniform", dataDir: "/x" });
  assert.deepEqual(img, { task: "image", dataset: "mnist", model: "moe", schedule: "uniform" });
  // A key is kept in labels only when it separates groups the earlier keys do not.
  assert.deepEqual(labelKeys([{ model: "moe", router: { kind: "switch", temperature: 1 } }, { model: "moe", router: { kind: "topk", temperature: 0.5 } }]), ["router.kind"]);
});

test("labels name a key beyond the first ones only where the group is off its defaults (router keys: its kind's own)", () => {
  const configs = [
    { model: "moe", router: { kind: "adamoe", balanceCoef: 0.1 }, segments: 1 }, // AdaMoE's own default
    { model: "moe", router: { kind: "adamoe", balanceCoef: 0.01 }, segments: 1 },
    { model: "moe", router: { kind: "aux-free", balanceCoef: 0.01 }, segments: 1 },
    { model: "moe", router: { kind: "aux-free", balanceCoef: 0.01 }, segments: 4 },
    { model: "moe", router: { kind: "topk", balanceCoef: 0.01 }, segments: 1 },
  ];
  const keys = labelKeys(configs);
  assert.deepEqual(keys, ["router.kind", "router.balanceCoef", "segments"]);
  assert.deepEqual(configs.map((c) => groupLabel(c, keys)), [
    "router=adamoe",
    "router=adamoe, router.balanceCoef=0.01",
    "router=aux-free",
    "router=aux-free, segments=4",
    "router=topk",
  ]);
  // The keys readers look for first are named even at their defaults.
  assert.equal(groupLabel({ model: "moe", schedule: "uniform", router: { kind: "percentile" } }, ["model", "schedule", "router.kind"]), "model=moe, schedule=uniform, router=percentile");
});

test("a folder without runs is a UserError; unfinished runs alone are listed", () => {
  const empty = mkdtempSync(join(tmpdir(), "dynamoe-empty-"));
  mkdirSync(join(empty, "plots"));
  assert.throws(() => collectRuns(empty), (e: unknown) => e instanceof UserError && /no run folders found/.test(e.message));
  assert.throws(() => collectRuns(join(empty, "missing")), (e: unknown) => e instanceof UserError && /no such directory/.test(e.message));
  writeFixtureRun(empty, { name: "x/killed", config: { ...SMALL, model: "moe" }, finished: false });
  const c = collectRuns(empty);
  assert.equal(c.groups.length, 1);
  assert.equal(c.groups[0].accuracy.n, 0);
  assert.equal(c.groups[0].unfinished.length, 1);
});

test("a run folder written by train() is collected (real code path)", async () => {
  await setup();
  const [dim, classes] = [16, 4];
  const rand = lcg(3);
  const split = (n: number): ImageSplit => {
    const x = new Float32Array(n * dim).map(() => rand());
    const y = new Uint8Array(n).map((_, i) => i % classes);
    return { x, y, n };
  };
  const dataset: ImageDataset = { name: "mnist", inputDim: dim, numClasses: classes, classNames: ["a", "b", "c", "d"], source: "synthetic", train: split(64), test: split(40) };
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-real-"));
  const config = { model: "moe" as const, d: 8, h: 8, layers: 2, experts: [4, 2], epochs: 1, batchSize: 32, evalBatchSize: 40, warmupSteps: 1, logEvery: 1, seed: 0 };
  const { summary } = await train(config, { outDir: join(dir, "moe-seed0"), dataset });
  const c = collectRuns(dir);
  const g = c.groups[0];
  assert.equal(g.accuracy.n, 1);
  assertAllClose([g.accuracy.mean!], [100 * summary.test.accuracy]);
  assert.equal(g.params, summary.params);
  assert.deepEqual(g.experts, [4, 2]);
  // FLOPs: the routing stats' per-layer sum, which is flops.ts's formula at the measured mean k.
  const routing = summary.test.routing!;
  assertAllClose([g.activeFlops.mean!], [routing.reduce((s, l) => s + 2 * 8 * l.experts + l.meanActive * ffnFlopsPerToken(8, 8), 0)]);
  assert.equal(g.curves[0].points.length, summary.steps);
  assert.equal(g.steps.mean, 1); // 64 training images less the 6 held out (a tenth) make one batch of 32
});
