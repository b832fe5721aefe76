import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { loadMnist } from "../../src/data/mnist.js";
import type { ImageDataset } from "../../src/data/types.js";
import { windowVariance } from "../../src/analysis/gradVariance.js";
import { analyzeGradVariance } from "../../src/cli/analyzeCommand.js";
import { train, type TrainEvent } from "../../src/train/train.js";
import { run } from "../cli/runCli.js";
import { setup } from "../helpers.js";
import type { TrainConfigInput } from "../../src/train/config.js";

let mnist: ImageDataset;
before(async () => {
  await setup();
  mnist = await loadMnist();
});

const tmp = () => mkdtempSync(join(tmpdir(), "dynamoe-gv-"));

// 16 steps of a small MoE on 1,024 MNIST images; a measurement every 4 steps with K = 3.
const tiny: TrainConfigInput = {
  dataset: "mnist",
  model: "moe",
  router: { kind: "topk" },
  d: 16,
  h: 16,
  layers: 2,
  experts: [4, 2],
  epochs: 1,
  batchSize: 64,
  evalBatchSize: 500,
  trainLimit: 1024,
  testLimit: 500,
  warmupSteps: 4,
  logEvery: 4,
  checkpointEvery: 8,
  seed: 5,
  gradVariance: { every: 4, k: 3, lossWindow: 3 },
};

const jsonl = (path: string) =>
  readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const withoutMs = (dir: string) => jsonl(join(dir, "metrics.jsonl")).map(({ stepMs: _s, ...rest }) => rest);

let whole = "";

test("during training: one grad-variance.jsonl line per measurement, in the agreed format; training itself unchanged", async () => {
  whole = tmp();
  const events: TrainEvent[] = [];
  tree.dispose((await train(tiny, { outDir: whole, dataset: mnist, onEvent: (e) => events.push(e) })).params);
  const lines = jsonl(join(whole, "grad-variance.jsonl"));
  assert.deepEqual(
    lines.map((l) => l.step),
    [4, 8, 12, 16],
  );
  const losses = jsonl(join(whole, "metrics.jsonl"))
    .filter((l) => l.type === "train")
    .map((l) => l.loss as number);
  lines.forEach((l, i) => {
    assert.deepEqual(Object.keys(l), ["step", "k", "total", "groups", "lossVariance"]);
    assert.equal(l.k, 3);
    const groups = l.groups as Record<string, number>;
    assert.deepEqual(Object.keys(groups).sort(), ["blocks.0.moe.experts", "blocks.0.moe.router", "blocks.0.norm", "blocks.1.moe.experts", "blocks.1.moe.router", "blocks.1.norm", "embed", "head", "norm"]);
    const sum = Object.values(groups).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - (l.total as number)) <= 1e-9 * sum && sum > 0, `total ${l.total} vs Σ groups ${sum}`);
    // the loss variance of the logged losses up to this step (one line per 4 steps), last 3 of them
    assert.equal(l.lossVariance, windowVariance(losses.slice(0, i + 1), 3));
  });
  assert.equal(lines[0].lossVariance, null);
  assert.equal(events.filter((e) => e.type === "gradVariance").length, 4);

  const plain = tmp();
  const { gradVariance: _gv, ...off } = tiny;
  tree.dispose((await train(off, { outDir: plain, dataset: mnist })).params);
  assert.deepEqual(withoutMs(plain), withoutMs(whole), "the measurements do not change training");
  assert.ok(!existsSync(join(plain, "grad-variance.jsonl")));
});

test("a crash after a measurement, then --resume: the file ends exactly as the uninterrupted run's, no duplicates", async () => {
  const split = tmp();
  // Crash (no checkpoint) at step 14: the checkpoint on disk is step 8's, the file has lines 4, 8, 12.
  const onEvent = (e: TrainEvent) => {
    if (e.type === "step" && e.step === 14) throw new Error("simulated crash");
  };
  await assert.rejects(train(tiny, { outDir: split, dataset: mnist, onEvent }), /simulated crash/);
  assert.deepEqual(
    jsonl(join(split, "grad-variance.jsonl")).map((l) => l.step),
    [4, 8, 12],
  );
  tree.dispose((await train({}, { outDir: split, resume: true, dataset: mnist })).params);
  assert.deepEqual(jsonl(join(split, "grad-variance.jsonl")), jsonl(join(whole, "grad-variance.jsonl")));
});

test("analyze grad-variance at the final checkpoint agrees with the in-training measurement at that step", async () => {
  // Training measured with the native engine's own gradients; analyze computes jax-js's jitted ones
  // at the checkpoint, on the same batches and router draws: the same numbers to float32 rounding.
  const r = await analyzeGradVariance(whole, {});
  const last = jsonl(join(whole, "grad-variance.jsonl")).at(-1)! as { step: number; k: number; total: number; groups: Record<string, number>; lossVariance: number };
  assert.deepEqual({ step: r.step, k: r.k, lossVariance: r.lossVariance }, { step: last.step, k: last.k, lossVariance: last.lossVariance });
  assert.deepEqual(Object.keys(r.groups), Object.keys(last.groups));
  for (const [name, v] of Object.entries({ ...r.groups, total: r.total })) {
    const want = name === "total" ? last.total : last.groups[name];
    assert.ok(Math.abs(v - want) <= 1e-5 * Math.abs(want), `${name}: analyze ${v} against training ${want}`);
  }
  const final = JSON.parse(readFileSync(join(whole, "grad-variance-final.json"), "utf8"));
  assert.deepEqual(final, { step: r.step, k: r.k, total: r.total, groups: r.groups, lossVariance: r.lossVariance, batchSize: 64 });
  await assert.rejects(analyzeGradVariance(whole, { steps: "8,16" }), /keeps only its latest checkpoint \(step 16\)/);
});

test("CLI: analyze grad-variance prints the per-group table; train --budget matched prints the rescaled experts", () => {
  const a = run(["analyze", "grad-variance", whole, "--k", "2"]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /blocks\.0\.moe\.router\s+\d\.\d{4}e[-+]\d+\s+\d+\.\d%/);
  assert.match(a.stdout, /total\s+\d\.\d{4}e/);
  assert.equal(JSON.parse(readFileSync(join(whole, "grad-variance-final.json"), "utf8")).k, 2);

  const dir = tmp();
  const cfg = join(dir, "tiny.json");
  const { gradVariance: _gv, experts: _e, ...rest } = tiny;
  writeFileSync(cfg, JSON.stringify({ ...rest, schedule: "descending", eMax: 4, eMin: 1, maxSteps: 1 }));
  const t = run(["train", "--config", cfg, "--budget", "matched", "--out", join(dir, "run")]);
  assert.equal(t.code, 0, t.stderr);
  // descending [4, 1] rescaled to 2·4 = 8 experts: q = 6.4, 1.6 → 6, 1 → +1 to layer 1 (.6 > .4)
  assert.match(t.stdout, /experts per layer {2}6, 2 {2}\(descending, budget-matched to 8 experts in all/);
  const summary = JSON.parse(readFileSync(join(dir, "run", "summary.json"), "utf8"));
  assert.deepEqual([summary.experts, summary.budget], [[6, 2], "matched"]);
});
