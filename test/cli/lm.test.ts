/**
 * End to end through the CLI: `train --task lm` on a small .txt corpus, then `generate` and `eval`
 * of its run folder; `generate` on a folder that is not a language-model run is a one-line error.
 * Kept small: the 50,257-way output layer costs about 0.4 ms per token per step.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { run, assertOneLineErrors } from "./runCli.js";
import { resolveConfig } from "../../src/train/config.js";

const tmp = () => mkdtempSync(join(tmpdir(), "dynamoe-lm-cli-"));

/** 12 paragraphs of three sentences, separated by blank lines: 12 documents of about 40 tokens each. */
function corpus(): string {
  const subjects = ["The river", "A farmer", "The old mill", "Our village", "The north wind", "A small boat", "The market", "The teacher", "An owl", "The bridge", "The harvest", "A traveller"];
  return subjects
    .map(
      (s, i) =>
        `${s} woke early on the ${i + 1}th morning of the long summer. ` +
        `It watched the fields turn gold while the sun climbed over the quiet hills. ` +
        `By evening everyone in the valley had heard the story of ${s.toLowerCase()} and the rain.`,
    )
    .join("\n\n");
}

test("train --task lm on a .txt corpus, then generate and eval its run folder", () => {
  const dir = tmp();
  const env = { DYNAMOE_CACHE: join(dir, "cache") };
  const file = join(dir, "fables.txt");
  writeFileSync(file, corpus() + "\n");
  const cfg = join(dir, "lm.json");
  writeFileSync(cfg, JSON.stringify({ evalBatchSize: 2, logEvery: 1, checkpointEvery: 2 }));
  const out = join(dir, "run");
  const t = run(["train", "--task", "lm", "--corpus", file, "--scale", "tiny", "--context", "16", "--batch-size", "2", "--max-steps", "2", "--config", cfg, "--out", out], env);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /validation ppl\s+\d+\.\d\d\s+\(loss \d+\.\d{4} nats\/token/);
  // Tiny MoE, 8 experts per layer: 266,624 + embeddings 50,257·64 + 16·64 (context 16) = 3,484,096.
  assert.match(t.stdout, /parameters\s+3,484,096 \(266,624 without embeddings\)/);

  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assert.equal(summary.task, "lm");
  assert.equal(summary.dataset, "fables");
  assert.equal(summary.model, "moe");
  assert.deepEqual(summary.experts, [8, 8]);
  assert.equal(summary.steps, 2);
  assert.equal(summary.stoppedEarly, true);
  assert.equal(summary.params, 3_484_096);
  assert.equal(summary.paramsNonEmbedding, 266_624);
  assert.ok(Number.isFinite(summary.test.perplexity) && summary.test.perplexity > 1, `perplexity ${summary.test.perplexity}`);
  assert.ok(Math.abs(summary.test.perplexity - Math.exp(summary.test.loss)) < 1e-6 * summary.test.perplexity);
  // An untrained 50,257-way model is near uniform: ln(50,257) ≈ 10.8 nats.
  assert.ok(summary.test.loss > 8 && summary.test.loss < 13, `loss ${summary.test.loss}`);

  const split = JSON.parse(readFileSync(join(out, "split.json"), "utf8"));
  assert.equal(split.corpus, "fables");
  assert.equal(split.source, file);
  assert.equal(split.trainDocuments.length + split.validationDocuments.length, 12);
  assert.equal(split.validationDocuments.length, 1, "round(12 · 0.1) documents held out");
  assert.equal(split.validationTitles.length, 1);
  assert.ok(split.trainTokens > 2 * 16 && split.validationTokens > 16, `tokens ${split.trainTokens} / ${split.validationTokens}`);
  assert.equal(summary.test.n, Math.floor((split.validationTokens - 1) / 16) * 16, "every whole validation sequence is evaluated");

  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.deepEqual([config.task, config.context, config.d, config.h, config.layers, config.batchSize, config.evalBatchSize], ["lm", 16, 64, 128, 2, 2, 2]);

  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.filter((l) => l.type === "train").map((l) => l.step), [1, 2], "logEvery 1");
  const evals = lines.filter((l) => l.type === "eval");
  assert.equal(evals.length, 1);
  const ev = evals[0];
  assert.equal(ev.split, "validation");
  assert.equal(ev.perplexity, summary.test.perplexity);
  assert.deepEqual(ev.byFrequency.map((r: { bucket: string }) => r.bucket), ["top 100", "100–1k", "1k–10k", "10k+", "unseen"]);
  const targets = ev.byFrequency.reduce((s: number, r: { targetTokens: number }) => s + r.targetTokens, 0);
  const inputs = ev.byFrequency.reduce((s: number, r: { inputTokens: number }) => s + r.inputTokens, 0);
  assert.equal(targets, summary.test.n);
  assert.equal(inputs, summary.test.n);
  assert.ok(ev.byFrequency.every((r: { active: number[] }) => r.active.length === 2));
  // Active experts by loss quantile: every position once, lowest loss first, and the same means as the whole split.
  type LossRow = { bucket: string; positions: number; lossFrom: number; lossTo: number; loss: number; active: number[] };
  const byLoss: LossRow[] = ev.byLoss;
  assert.deepEqual(byLoss.map((r) => r.bucket), ["0–20%", "20–40%", "40–60%", "60–80%", "80–100%"]);
  assert.equal(byLoss.reduce((s, r) => s + r.positions, 0), summary.test.n);
  for (let i = 1; i < byLoss.length; i++) assert.ok(byLoss[i].lossFrom >= byLoss[i - 1].lossTo && byLoss[i].loss > byLoss[i - 1].loss, "quantiles in loss order");
  const weighted = (f: (r: LossRow) => number) => byLoss.reduce((s, r) => s + r.positions * f(r), 0) / summary.test.n;
  assert.ok(Math.abs(weighted((r) => r.loss) - summary.test.loss) < 1e-4 * summary.test.loss, "the quantiles' losses average to the split's");
  for (let l = 0; l < 2; l++) assert.ok(Math.abs(weighted((r) => r.active[l]) - summary.test.active[l]) < 1e-5, `layer ${l}: the quantiles' active experts average to the layer's`);
  assert.deepEqual(summary.test.byLoss, byLoss, "the summary keeps them");

  const g = run(["generate", "--run", out, "--prompt", "The", "--tokens", "5"], env);
  assert.equal(g.code, 0, g.stderr);
  assert.ok(g.stdout.startsWith("The"), `generated: ${JSON.stringify(g.stdout)}`);
  assert.ok(g.stdout.length > "The\n".length, "something was generated");
  const again = run(["generate", "--run", out, "--prompt", "The", "--tokens", "5"], env);
  assert.equal(again.stdout, g.stdout, "the same seed gives the same text");

  const e = run(["eval", "--run", out], env);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /step 2, epoch 0/);
  assert.match(e.stdout, new RegExp(`validation ppl\\s+${summary.test.perplexity.toFixed(2)}\\s`));
  assert.match(e.stdout, /active per layer\s+\d\.\d\d, \d\.\d\d/);
  assert.match(e.stdout, /^  top 100 +tokens +active \d\.\d\d, \d\.\d\d/m, "the breakdown by token frequency");
  assert.equal(e.stdout.match(/^  loss \d+–\d+% +active \d\.\d\d, \d\.\d\d/gm)?.length, 5, "and by loss quintile");
});

test("generate on an image run or a missing folder is a one-line error, without a stack trace", () => {
  const dir = tmp();
  const image = join(dir, "image-run");
  mkdirSync(image);
  writeFileSync(join(image, "config.json"), JSON.stringify(resolveConfig({})));
  writeFileSync(join(image, "checkpoint.safetensors"), ""); // never read: the task is checked first
  const noCheckpoint = join(dir, "no-checkpoint");
  mkdirSync(noCheckpoint);
  writeFileSync(join(noCheckpoint, "config.json"), JSON.stringify(resolveConfig({ task: "lm" })));
  const cases: [string[], RegExp][] = [
    [["generate", "--run", image], /an image run; generate needs a language model/],
    [["generate", "--run", join(dir, "nowhere")], /not a dynamoe run folder \(no config\.json\)/],
    [["generate", "--run", noCheckpoint], /no checkpoint yet/],
    [["generate", "--run", image, "--tokens", "0"], /--tokens must be an integer ≥ 1/],
    [["generate"], /generate: which run\? give its folder: dynamoe generate RUN/],
  ];
  assertOneLineErrors(cases);
});

test(
  "a validation split shorter than one sequence is a one-line error before training",
  () => {
    const dir = tmp();
    const file = join(dir, "fables.txt");
    writeFileSync(file, corpus() + "\n");
    const r = run(["train", "--task", "lm", "--corpus", file, "--context", "64", "--batch-size", "2", "--max-steps", "1", "--out", join(dir, "run")], {
      DYNAMOE_CACHE: join(dir, "cache"),
    });
    assert.notEqual(r.code, 0);
    const err = r.stderr.trim().split("\n").filter((l) => !l.startsWith("(run with --help"));
    assert.equal(err.length, 1, `expected one line, got:\n${r.stderr}`);
    assert.match(err[0], /validation/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  },
);
