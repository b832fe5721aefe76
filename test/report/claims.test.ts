import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { evaluateClaims, PAPER } from "../../src/report/claims.js";
import { collectRuns } from "../../src/report/collect.js";
import { meanStd } from "../../src/report/meanStd.js";
import { combineVerdicts, compareVerdict } from "../../src/report/verdict.js";
import { SMALL, writeFixtureRun, writeImageCollection } from "./fixtures.js";

test("one comparison: held, did not hold, inconclusive, not run", () => {
  const a = meanStd([95, 96, 97]); // 96 ± 1
  const b = meanStd([90, 91, 92]); // 91 ± 1
  assert.equal(compareVerdict(a, b, "higher").verdict, "held");
  assert.equal(compareVerdict(b, a, "higher").verdict, "did not hold");
  assert.equal(compareVerdict(a, b, "lower").verdict, "did not hold");
  assert.equal(compareVerdict(b, a, "lower").verdict, "held");
  // 92 ± 1 vs 91 ± 1: [91, 93] and [90, 92] overlap.
  assert.equal(compareVerdict(meanStd([91, 92, 93]), b, "higher").verdict, "inconclusive");
  // Touching intervals count as overlapping: [92, 94] vs [90, 92].
  assert.equal(compareVerdict(meanStd([92, 93, 94]), b, "higher").verdict, "inconclusive");
  // One seed has no spread, whatever the gap.
  const one = compareVerdict(meanStd([99]), b, "higher");
  assert.equal(one.verdict, "inconclusive");
  assert.match(one.why, /fewer than 2 seeds/);
  assert.equal(compareVerdict(meanStd([]), b, "higher").verdict, "not run");
});

test("combining comparisons: held only when every counted one held", () => {
  assert.equal(combineVerdicts([]), "not run");
  assert.equal(combineVerdicts(["not run"]), "not run");
  assert.equal(combineVerdicts(["held", "held"]), "held");
  assert.equal(combineVerdicts(["held", "inconclusive"]), "inconclusive");
  assert.equal(combineVerdicts(["held", "inconclusive", "did not hold"]), "did not hold");
});

test("claims on the image collection: 3 held (96 ± 1 vs 91 ± 1), 1 did not hold (one k per layer), 4 and 5 not run", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-claims-"));
  writeImageCollection(root);
  const claims = evaluateClaims(collectRuns(root));
  const byId = new Map(claims.map((c) => [c.id, c]));
  const c3 = byId.get(3)!;
  assert.equal(c3.verdict, "held");
  assert.equal(c3.rows.length, 1);
  assert.equal(c3.rows[0].counted, true);
  assert.match(c3.rows[0].ours, /descending 96\.00 ± 1\.00 \(n=3\) vs uniform 91\.00 ± 1\.00 \(n=3\) %; Δ \+5\.00 points/);
  assert.match(c3.rows[0].paper, new RegExp(`${PAPER.imagesDescendingOverUniformMaxPoints}`));
  const c1 = byId.get(1)!;
  assert.equal(c1.verdict, "did not hold");
  assert.equal(c1.rows.length, 2);
  assert.ok(c1.rows.every((r) => /tokens off the modal k: 0\.00 ± 0\.00%/.test(r.ours)), c1.rows.map((r) => r.ours).join("\n"));
  assert.equal(byId.get(4)!.verdict, "not run");
  assert.equal(byId.get(4)!.rows.length, 0);
  assert.equal(byId.get(5)!.verdict, "not run");
});

test("claim 3 with descending behind, and with a router outside the paper's setting (not counted)", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-claims-"));
  const run = (schedule: "uniform" | "descending", seed: number, accuracy: number, router = "percentile") =>
    writeFixtureRun(root, {
      name: `${router}-${schedule}-${seed}`,
      config: { ...SMALL, model: "moe", schedule, seed, router: { kind: router as "percentile" } },
      accuracy,
      kHists: schedule === "uniform" ? [[0, 0, 100, 0, 0], [0, 0, 100, 0, 0]] : [[0, 0, 100, 0, 0], [0, 100, 0]],
    });
  [0.9, 0.91, 0.92].forEach((a, s) => run("uniform", s, a));
  [0.85, 0.86, 0.87].forEach((a, s) => run("descending", s, a));
  // top-k: descending ahead, but not the paper's router, so it does not decide the claim.
  [0.9, 0.91, 0.92].forEach((a, s) => run("uniform", s, a, "topk"));
  [0.95, 0.96, 0.97].forEach((a, s) => run("descending", s, a, "topk"));
  const c3 = evaluateClaims(collectRuns(root)).find((c) => c.id === 3)!;
  assert.equal(c3.rows.length, 2);
  const [paper, ours] = [c3.rows.find((r) => r.counted)!, c3.rows.find((r) => !r.counted)!];
  assert.equal(paper.verdict, "did not hold");
  assert.match(paper.ours, /Δ -5\.00 points/);
  assert.equal(ours.verdict, "held");
  assert.match(ours.context, /router=topk/);
  assert.equal(c3.verdict, "did not hold");
});

test("claim 4: LM Tiny descending vs uniform and dense, with the paper's numbers beside ours", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-claims-lm-"));
  const lm = { task: "lm", scale: "tiny", corpus: "sotu" } as const;
  const moeRun = (schedule: "uniform" | "descending", seed: number, perplexity: number) =>
    writeFixtureRun(root, {
      name: `lm-${schedule}-${seed}`,
      config: { ...lm, model: "moe", schedule, seed },
      accuracy: 0.1,
      perplexity,
      params: 3_400_000,
      paramsNonEmbedding: 200_000,
      kHists: schedule === "uniform" ? [[0, 0, 0, 0, 10, 0, 0, 0, 0], [0, 0, 0, 0, 10, 0, 0, 0, 0]] : [[0, 0, 0, 0, 10, 0, 0, 0, 0], [0, 10, 0]],
    });
  [1000, 1010, 1020].forEach((p, s) => moeRun("descending", s, p)); // 1010 ± 10
  [1070, 1080, 1090].forEach((p, s) => moeRun("uniform", s, p)); // 1080 ± 10
  [1005, 1015].forEach((p, seed) => writeFixtureRun(root, { name: `lm-dense-${seed}`, config: { ...lm, model: "dense", seed }, accuracy: 0.1, perplexity: p })); // 1010 ± 7.07
  const c4 = evaluateClaims(collectRuns(root)).find((c) => c.id === 4)!;
  assert.equal(c4.rows.length, 2);
  const [descUni, denseDesc] = c4.rows;
  assert.match(descUni.paper, /1011\.80 vs uniform 1078\.31/);
  assert.match(descUni.paper, /another corpus/);
  // Per seed, the same seed's perplexities: 1000 vs 1070, 1010 vs 1080, 1020 vs 1090.
  assert.match(descUni.ours, /descending 1010\.00 ± 10\.00 \(n=3\) vs uniform 1080\.00 ± 10\.00 \(n=3\); −6\.5%; per seed 0, 1, 2: −6\.5, −6\.5, −6\.4%/);
  assert.equal(descUni.verdict, "held");
  assert.equal(denseDesc.verdict, "inconclusive"); // 1010 ± 7.07 vs 1010 ± 10
  assert.equal(c4.verdict, "inconclusive");
  assert.deepEqual(c4.parts, [{ part: "sotu, tiny", verdict: "inconclusive" }]);
});

test("claim 4 per scale: Small ascending against the other schedules and dense; budget-matched rows shown, not counted", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-claims-lm-small-"));
  const lm = { task: "lm", scale: "small", corpus: "sotu", budget: "free" } as const;
  const write = (name: string, config: Record<string, unknown>, ppls: number[]) =>
    ppls.forEach((perplexity, seed) => writeFixtureRun(root, { name: `${name}-${seed}`, config: { ...lm, ...config, seed }, accuracy: 0.1, perplexity, kHists: [[0, 10, 0], [0, 10, 0]] }));
  write("asc", { model: "moe", schedule: "ascending" }, [500, 510, 520]); // 510 ± 10
  write("uni", { model: "moe", schedule: "uniform" }, [400, 410, 420]); // 410 ± 10: better than ascending
  write("asc-matched", { model: "moe", schedule: "ascending", budget: "matched" }, [600, 610, 620]);
  write("dense", { model: "dense" }, [505, 510, 515]); // overlaps ascending
  const c4 = evaluateClaims(collectRuns(root)).find((c) => c.id === 4)!;
  const byOurs = (re: RegExp) => c4.rows.find((r) => re.test(r.ours))!;
  assert.equal(c4.rows.length, 3);
  assert.equal(byOurs(/^ascending 510.* vs uniform/).verdict, "did not hold");
  assert.equal(byOurs(/^ascending 510.* vs uniform/).counted, true);
  assert.equal(byOurs(/^ascending 510.* vs dense/).verdict, "inconclusive");
  const matched = byOurs(/^ascending 610/);
  assert.match(matched.context, /budget matched/);
  assert.equal(matched.counted, false);
  assert.equal(matched.verdict, "did not hold");
  assert.deepEqual(c4.parts, [{ part: "sotu, small", verdict: "did not hold" }]);
  assert.equal(c4.verdict, "did not hold");
});

test("claim 5: gradient variance of the percentile router against top-k", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-claims-gv-"));
  const gv = (total: number) => [20, 40].map((step) => ({ step, k: 4, total, groups: { experts: total / 2 }, lossVariance: 0.01 }));
  const run = (router: "percentile" | "topk", seed: number, total: number) =>
    writeFixtureRun(root, { name: `${router}-${seed}`, config: { ...SMALL, model: "moe", seed, router: { kind: router } }, kHists: [[0, 0, 10, 0, 0], [0, 0, 10, 0, 0]], gradVariance: gv(total) });
  [1, 1.1, 1.2].forEach((t, s) => run("percentile", s, t));
  [2, 2.1, 2.2].forEach((t, s) => run("topk", s, t));
  const c5 = evaluateClaims(collectRuns(root)).find((c) => c.id === 5)!;
  assert.equal(c5.rows.length, 1);
  assert.equal(c5.verdict, "held");
  assert.match(c5.rows[0].ours, /percentile 1\.1000 ± 0\.1000 \(n=3\) vs top-k 2\.1000 ± 0\.1000 \(n=3\)/);
});
