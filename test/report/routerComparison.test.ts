/**
 * The "Routers compared" section built from a small fixture of `routers-<dataset>` sweeps, every
 * number checked against values worked out by hand below; and the same section from the folder
 * `dynamoe archive` makes of it (config, summary and metrics only).
 *
 * SMALL models: d = h = 8, 2 layers of N = 4 experts (uniform schedule), so a layer's FLOPs per token
 * are `2·d·N + k̄·2·(d·h + h·d) = 64 + 256·k̄`.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { routerSpecs } from "../../src/reproduce/paperSpecs.js";
import { archiveRuns } from "../../src/reproduce/archiveRuns.js";
import { buildReport, type Report } from "../../src/report/buildReport.js";
import { collectRuns } from "../../src/report/collect.js";
import { kDistribution } from "../../src/report/kDistribution.js";
import { reportHtml } from "../../src/report/reportHtml.js";
import { reportMarkdown } from "../../src/report/reportMarkdown.js";
import { K_VARIES_SHARE, ROUTERS_SWEEP_PREFIX, routerComparisons, routerTableRows, type RouterComparison } from "../../src/report/routerComparison.js";
import { routerParetoData, type RouterPoint } from "../../src/report/routerParetoChart.js";
import { assertAllClose } from "../helpers.js";
import { SMALL, writeFixtureRun, type FixtureRun } from "./fixtures.js";

const uniform = { ...SMALL, model: "moe", schedule: "uniform" } as const;
const K2 = [0, 0, 100, 0, 0];
const K1 = [0, 100, 0, 0, 0];

/**
 * routers-mnist, by hand (accuracy %, FLOPs = Σ_layers 64 + 256·k̄):
 * - percentile: one seed, k = 3 everywhere: 98; FLOPs 2·(64 + 768) = 1664; one more seed unfinished.
 * - topk: k = 2 everywhere: 95, 97 → 96 ± √2; FLOPs 2·576 = 1152. Dominated by top-p (same 96, cheaper).
 * - switch: layer 0 has 4 tokens with k = 0 (4% off the mode, under the 5% mark), layer 1 k = 1:
 *   93, 94 → 93.5 ± √0.5; k̄₀ 0.96, FLOPs (64 + 245.76) + 320 = 629.76; std of k₀ √(0.96·0.04).
 * - top-p: layer 0 [0,50,30,20,0] and [0,30,50,20,0], layer 1 k = 1: 96, 96 → 96 ± 0;
 *   k̄₀ 1.7 and 1.9 → FLOPs 819.2 and 870.4, 844.8 ± 51.2/√2; std of k₀ √0.61 and 0.7; 50% off the
 *   mode; layer 0 loads [100,40,20,10] and [60,60,40,30] → max/mean 1/0.425 and 0.6/0.475.
 * Front: switch (629.76, 93.5), top-p (844.8, 96), percentile (1664, 98).
 */
const MNIST: FixtureRun[] = [
  { name: "routers-mnist/router=percentile,seed=0", config: { ...uniform, router: { kind: "percentile" }, seed: 0 }, accuracy: 0.98, validationAccuracy: 0.975, kHists: [[0, 0, 0, 100, 0], [0, 0, 0, 100, 0]] },
  { name: "routers-mnist/router=percentile,seed=1", config: { ...uniform, router: { kind: "percentile" }, seed: 1 }, finished: false },
  ...[0.95, 0.97].map((accuracy, seed) => ({ name: `routers-mnist/router=topk,seed=${seed}`, config: { ...uniform, router: { kind: "topk" as const }, seed }, accuracy, validationAccuracy: [0.94, 0.96][seed], kHists: [K2, K2] })),
  ...[0.93, 0.94].map((accuracy, seed) => ({ name: `routers-mnist/router=switch,seed=${seed}`, config: { ...uniform, router: { kind: "switch" as const }, seed }, accuracy, validationAccuracy: 0.92, kHists: [[4, 96, 0, 0, 0], K1] })),
  ...[0, 1].map((seed) => ({
    name: `routers-mnist/router=top-p,seed=${seed}`,
    config: { ...uniform, router: { kind: "top-p" as const }, seed },
    accuracy: 0.96,
    validationAccuracy: [0.95, 0.97][seed],
    kHists: [seed === 0 ? [0, 50, 30, 20, 0] : [0, 30, 50, 20, 0], K1],
    loads: [seed === 0 ? [100, 40, 20, 10] : [60, 60, 40, 30]],
  })),
];

let root: string;
let archived: string;
let report: Report;
before(async () => {
  root = mkdtempSync(join(tmpdir(), "dynamoe-routers-"));
  for (const run of MNIST) writeFixtureRun(root, run);
  // A second dataset, and runs outside any router sweep that the section leaves out.
  writeFixtureRun(root, { name: "routers-fashion-mnist/router=topk,seed=0", config: { ...uniform, dataset: "fashion-mnist", router: { kind: "topk" }, seed: 0 }, accuracy: 0.85, kHists: [K2, K2] });
  writeFixtureRun(root, { name: "images-mnist/schedule=descending,seed=0", config: { ...SMALL, model: "moe", schedule: "descending", seed: 0 }, accuracy: 0.5, kHists: [K2, [0, 100, 0]] });
  writeFixtureRun(root, { name: "images-mnist/dense,seed=0", config: { ...SMALL, model: "dense", seed: 0 }, accuracy: 0.5 });
  // What archive leaves behind: a checkpoint and plots the section must not need.
  writeFileSync(join(root, "routers-mnist/router=topk,seed=0/checkpoint.safetensors"), "not a checkpoint");
  mkdirSync(join(root, "routers-mnist/router=topk,seed=0/plots"));
  archived = join(mkdtempSync(join(tmpdir(), "dynamoe-routers-archived-")), "results");
  archiveRuns(root, archived);
  report = await buildReport(collectRuns(root), new Date(0));
});

const mnist = (): RouterComparison => routerComparisons(collectRuns(root)).find((c) => c.dataset === "mnist")!;
const rowOf = (cmp: RouterComparison, router: string) => cmp.rows.find((r) => r.router === router)!;

test("the router sweeps' names start with the prefix the report looks for", () => {
  for (const quick of [false, true]) for (const s of routerSpecs({ quick, corpus: "sotu" })) assert.ok(s.name.startsWith(ROUTERS_SWEEP_PREFIX), s.name);
});

test("k's distribution from a histogram: mean, std over tokens, share off the most common k", () => {
  const d = kDistribution([0, 50, 30, 20, 0]);
  assertAllClose([d.mean, d.std, d.offMode], [1.7, Math.sqrt(0.61), 0.5]);
  assert.deepEqual(kDistribution([0, 0, 7, 0]), { mean: 2, std: 0, offMode: 0 });
  assert.deepEqual(kDistribution([0, 0]), { mean: 0, std: 0, offMode: 0 });
});

test("router comparison: one per dataset with routers-* runs, routers in registry order, numbers by hand", () => {
  const all = routerComparisons(collectRuns(root));
  assert.deepEqual(all.map((c) => c.dataset), ["fashion-mnist", "mnist"]);
  const cmp = mnist();
  // The descending and dense runs outside the sweeps are not rows.
  assert.deepEqual(cmp.rows.map((r) => r.router), ["percentile", "topk", "switch", "top-p"]);

  const pct = rowOf(cmp, "percentile");
  assert.deepEqual([pct.seeds, pct.unfinished, pct.testAccuracy.n, pct.testAccuracy.std], [[0], 1, 1, null]);
  assertAllClose([pct.testAccuracy.mean!, pct.validationAccuracy.mean!, pct.activeFlops.mean!], [98, 97.5, 1664]);

  const topk = rowOf(cmp, "topk");
  assertAllClose([topk.testAccuracy.mean!, topk.testAccuracy.std!, topk.validationAccuracy.mean!, topk.validationAccuracy.std!, topk.activeFlops.mean!, topk.activeFlops.std!], [96, Math.SQRT2, 95, Math.SQRT2, 1152, 0]);
  assert.deepEqual(topk.layers.map((l) => [l.meanK, l.stdK, l.offMode, l.imbalanceMaxMean]), [[2, 0, 0, 1], [2, 0, 0, 1]]);

  const sw = rowOf(cmp, "switch");
  assertAllClose([sw.testAccuracy.mean!, sw.testAccuracy.std!, sw.activeFlops.mean!], [93.5, Math.sqrt(0.5), 629.76]);
  assertAllClose([sw.layers[0].meanK, sw.layers[0].stdK, sw.layers[0].offMode], [0.96, Math.sqrt(0.96 * 0.04), 0.04]);
  assert.ok(sw.layers[0].offMode < K_VARIES_SHARE);

  const topP = rowOf(cmp, "top-p");
  assertAllClose([topP.testAccuracy.mean!, topP.testAccuracy.std!, topP.validationAccuracy.mean!, topP.activeFlops.mean!, topP.activeFlops.std!], [96, 0, 96, 844.8, 51.2 / Math.SQRT2]);
  assertAllClose(topP.layers.flatMap((l) => [l.meanK, l.stdK, l.offMode, l.imbalanceMaxMean]), [1.8, (Math.sqrt(0.61) + 0.7) / 2, 0.5, (1 / 0.425 + 0.6 / 0.475) / 2, 1, 0, 0, 1]);

  assert.deepEqual(cmp.rows.map((r) => [r.router, r.kVaries, r.onFront]), [["percentile", false, true], ["topk", false, false], ["switch", false, true], ["top-p", true, true]]);
});

test("the section: chart spec with a point per router, the FLOPs bar where FLOPs vary, and the front", () => {
  const section = report.sections.find((s) => s.id === "routers-mnist")!;
  assert.ok(section, report.sections.map((s) => s.id).join(", "));
  assert.equal(section.title, "Routers compared: mnist");
  assert.ok(report.sections.some((s) => s.id === "routers-fashion-mnist"));
  assert.match(section.intro, /Pareto front \(test accuracy for compute\): percentile, switch, top-p\./);
  assert.match(section.intro, /k varies per token .*: top-p\.$/);
  const [chart] = section.charts;
  assert.equal(chart.id, "routers-mnist-pareto");
  assert.match(chart.svg, /^<svg/);
  const layers = (chart.spec as { layer: { data: { values: Record<string, unknown>[] }; mark: { type: string } }[] }).layer;
  const points = layers.find((l) => l.mark.type === "point")!.data.values as RouterPoint[];
  assert.deepEqual(points.map((p) => p.router), ["percentile", "topk", "switch", "top-p"]);
  assert.deepEqual(layers.find((l) => l.mark.type === "text")!.data.values.map((p) => p.router), ["percentile", "topk", "switch", "top-p"]);
  const line = layers.find((l) => l.mark.type === "line")!.data.values;
  assert.deepEqual(line.map((p) => p.router), ["switch", "top-p", "percentile"]);
  assertAllClose(line.flatMap((p) => [p.cost as number, p.mean as number]), [629.76, 93.5, 844.8, 96, 1664, 98]);
  // The horizontal (FLOPs) bars: top-p only, ± 51.2/√2 around 844.8.
  const { costBars } = routerParetoData(points);
  assert.deepEqual(costBars.map((p) => p.router), ["top-p"]);
  assertAllClose([costBars[0].costLo, costBars[0].costHi], [844.8 - 51.2 / Math.SQRT2, 844.8 + 51.2 / Math.SQRT2]);
});

test("the section's table, in the HTML and Markdown reports", () => {
  const section = report.sections.find((s) => s.id === "routers-mnist")!;
  const [t] = section.tables!;
  assert.deepEqual(t.rows, routerTableRows(mnist()));
  const row = (router: string) => t.rows.find((r) => r[0] === router)!;
  assert.deepEqual(row("percentile"), ["percentile", "0 (+1 unfinished)", "98.00", "97.50", "1.7K", "3.00, 3.00", "0.00, 0.00", "0.0, 0.0", "1.00, 1.00", "no", "yes"]);
  assert.deepEqual(row("topk"), ["topk", "0, 1", "96.00 ± 1.41", "95.00 ± 1.41", "1.2K", "2.00, 2.00", "0.00, 0.00", "0.0, 0.0", "1.00, 1.00", "no", ""]);
  assert.deepEqual(row("switch"), ["switch", "0, 1", "93.50 ± 0.71", "92.00 ± 0.00", "630", "0.96, 1.00", "0.20, 0.00", "4.0, 0.0", "1.00, 1.00", "no", "yes"]);
  assert.deepEqual(row("top-p"), ["top-p", "0, 1", "96.00 ± 0.00", "96.00 ± 1.41", "845 ± 36", "1.80, 1.00", "0.74, 0.00", "50.0, 0.0", "1.81, 1.00", "yes", "yes"]);
  assert.match(t.note, /test set was evaluated once per run/);
  assert.match(t.note, /every rule's defaults were chosen on the validation split/);

  const html = reportHtml(report);
  assert.match(html, /<section id="routers-mnist"><h2>Routers compared: mnist<\/h2>/);
  assert.match(html, /<figure class="chart" data-chart="routers-mnist-pareto"><svg/);
  assert.match(html, /<tr><td>top-p<\/td><td>0, 1<\/td><td>96\.00 ± 0\.00<\/td>.*<td>yes<\/td><td>yes<\/td><\/tr>/);
  const md = reportMarkdown(report, "report-charts");
  assert.match(md, /## Routers compared: mnist\n/);
  assert.match(md, /!\[mnist: routers, test accuracy vs active FLOPs per token\]\(report-charts\/routers-mnist-pareto\.svg\)/);
  assert.match(md, /\| top-p \| 0, 1 \| 96\.00 ± 0\.00 \| 96\.00 ± 1\.41 \| 845 ± 36 \| 1\.80, 1\.00 \| 0\.74, 0\.00 \| 50\.0, 0\.0 \| 1\.81, 1\.00 \| yes \| yes \|/);
});

test("an archived results folder (config, summary, metrics) gives the same comparison", () => {
  const fromArchive = routerComparisons(collectRuns(archived));
  // The unfinished run is not archived; every other number is the same.
  const here = routerComparisons(collectRuns(root)).map((c) => ({ ...c, rows: c.rows.map((r) => ({ ...r, unfinished: 0 })) }));
  assert.deepEqual(fromArchive, here);
});

test("two groups of one router kind are named by the kind and what the second sets off its defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-routers-names-"));
  writeFixtureRun(dir, { name: "routers-mnist/router=aux-free,seed=0", config: { ...uniform, router: { kind: "aux-free" }, seed: 0 }, accuracy: 0.97, kHists: [K2, K2] });
  writeFixtureRun(dir, {
    name: "routers-mnist/router=aux-free,segments=4,sharedExperts=1,seed=0",
    config: { ...uniform, router: { kind: "aux-free" }, segments: 4, sharedExperts: 1, seed: 0 },
    accuracy: 0.98,
    kHists: [K2, K2],
  });
  const rows = routerComparisons(collectRuns(dir))[0].rows.map((r) => r.router);
  assert.deepEqual(rows, ["aux-free", "aux-free, segments=4, sharedExperts=1"]);
});

test("a kind's only group, off that kind's defaults, is named with what it sets (a default that changed since it ran)", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-routers-off-"));
  writeFixtureRun(dir, { name: "routers-mnist/router=topk,seed=0", config: { ...uniform, router: { kind: "topk" }, seed: 0 }, accuracy: 0.97, kHists: [K2, K2] });
  writeFixtureRun(dir, {
    name: "routers-mnist/router=adamoe,router.balanceCoef=0.01,seed=0",
    config: { ...uniform, router: { kind: "adamoe", balanceCoef: 0.01 }, seed: 0 },
    accuracy: 0.98,
    kHists: [K2, K2],
  });
  const rows = routerComparisons(collectRuns(dir))[0].rows.map((r) => r.router);
  assert.deepEqual(rows, ["topk", "adamoe, router.balanceCoef=0.01"]);
});
