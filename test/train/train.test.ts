import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { trackBuffers } from "../../src/engine/liveBuffers.js";
import { loadMnist } from "../../src/data/mnist.js";
import type { ImageDataset } from "../../src/data/types.js";
import { UserError } from "../../src/errors.js";
import { decodeAnySafetensors, decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.js";
import { DivergedError, InterruptedError, train, type TrainEvent } from "../../src/train/train.js";
import { comparableLines, metricLines, setup } from "../helpers.js";
import type { TrainConfigInput } from "../../src/train/config.js";

let mnist: ImageDataset;
before(async () => {
  await setup();
  mnist = await loadMnist();
});

const tmp = () => mkdtempSync(join(tmpdir(), "dynamoe-train-"));

// A small MoE on 1,024 MNIST images: d = 32, h = 32, experts 4 then 2.
const tiny: TrainConfigInput = {
  dataset: "mnist",
  model: "moe",
  d: 32,
  h: 32,
  layers: 2,
  experts: [4, 2],
  epochs: 2,
  batchSize: 64,
  evalBatchSize: 500,
  trainLimit: 1024,
  testLimit: 1000,
  warmupSteps: 4,
  logEvery: 4,
  checkpointEvery: 8,
  seed: 3,
};

const lines = metricLines;
const comparable = comparableLines;

test("a tiny run trains: exact parameter count, loss goes down, run folder complete", async () => {
  const dir = tmp();
  const { summary, params } = await train(tiny, { outDir: dir, dataset: mnist });
  tree.dispose(params);
  // embed 784·32+32, 2 × LayerNorm 64, experts (4 + 2) × (2·32·32 + 32 + 32 + 32 router), final LN 64, head 32·10+10
  assert.equal(summary.params, 784 * 32 + 32 + 2 * 64 + 6 * (2 * 32 * 32 + 32 + 32 + 32) + 64 + 32 * 10 + 10);
  const train_ = lines(dir).filter((l) => l.type === "train");
  assert.ok((train_.at(-1)!.loss as number) < (train_[0].loss as number) * 0.6, `loss ${train_[0].loss} → ${train_.at(-1)!.loss}`);
  assert.ok(summary.test.accuracy > 0.6, `test accuracy ${summary.test.accuracy}`);
  // percentile rule, τ = 50: 4 experts → 2 active, 2 experts → 1 active, for every token
  assert.deepEqual(summary.meanActive, [2, 1]);
  for (const f of ["config.json", "metrics.jsonl", "checkpoint.safetensors", "summary.json"]) assert.ok(existsSync(join(dir, f)), f);
  const ck = decodeSafetensors(readFileSync(join(dir, "checkpoint.safetensors")));
  assert.ok(ck.tensors["params.blocks.0.moe.w1"] && ck.tensors["opt.mu.blocks.0.moe.w1"] && ck.tensors["opt.count"] && ck.tensors["rng.key"]);
  assert.equal(JSON.parse(ck.metadata.progress).step, 32);
});

test("same seed, same numbers", async () => {
  const a = tmp();
  const b = tmp();
  tree.dispose((await train({ ...tiny, epochs: 1 }, { outDir: a, dataset: mnist })).params);
  tree.dispose((await train({ ...tiny, epochs: 1 }, { outDir: b, dataset: mnist })).params);
  assert.deepEqual(comparable(a), comparable(b));
});

/** Routers whose state (a balancing bias, ReMoE's λ) moves each step: resume must carry it exactly. */
const RESUMED: [string, TrainConfigInput, string | null][] = [
  ["percentile", tiny, null],
  ["aux-free (balancing bias at γ 0.05)", { ...tiny, router: { kind: "aux-free", biasRate: 0.05 } }, "params.blocks.0.moe.router.bias"],
  ["remoe (adaptive λ)", { ...tiny, router: { kind: "remoe", l1Init: 0.01 } }, "params.blocks.0.moe.router.l1"],
];

for (const [label, cfg, stateLeaf] of RESUMED) test(`an interrupted run, resumed, ends with exactly the metrics and weights of an uninterrupted one: ${label}`, async () => {
  const tiny = cfg; // this router's tiny run
  const whole = tmp();
  const split = tmp();
  tree.dispose((await train(tiny, { outDir: whole, dataset: mnist })).params);
  const controller = new AbortController();
  // Stop mid-window and mid-epoch (step 11 of 16 per epoch, log every 4, checkpoint every 8).
  const onEvent = (e: TrainEvent) => {
    if (e.type === "step" && e.step === 11) controller.abort();
  };
  await assert.rejects(train(tiny, { outDir: split, dataset: mnist, onEvent, signal: controller.signal }), InterruptedError);
  assert.ok(!existsSync(join(split, "summary.json")));
  tree.dispose((await train({}, { outDir: split, resume: true, dataset: mnist })).params);
  assert.deepEqual(comparable(split), comparable(whole));
  const w = decodeSafetensors(readFileSync(join(whole, "checkpoint.safetensors")));
  const s = decodeSafetensors(readFileSync(join(split, "checkpoint.safetensors")));
  for (const name of Object.keys(w.tensors)) assert.deepEqual(s.tensors[name].data, w.tensors[name].data, name);
  const sw = JSON.parse(readFileSync(join(whole, "summary.json"), "utf8"));
  const ss = JSON.parse(readFileSync(join(split, "summary.json"), "utf8"));
  assert.deepEqual(ss.test, sw.test);
  if (stateLeaf) {
    // The state is in the checkpoint and moved away from where it starts (0, or l1Init).
    const start = stateLeaf.endsWith(".l1") ? Math.fround(0.01) : 0;
    assert.ok(Array.from(w.tensors[stateLeaf].data as Float32Array).some((v) => v !== start), `${stateLeaf} moved`);
  }
});

test("a resumed run's wall time counts the earlier process's, as its checkpoint recorded it", async () => {
  const dir = tmp();
  const controller = new AbortController();
  const onEvent = (e: TrainEvent) => {
    if (e.type === "step" && e.step === 11) controller.abort();
  };
  await assert.rejects(train(tiny, { outDir: dir, dataset: mnist, onEvent, signal: controller.signal }), InterruptedError);
  const path = join(dir, "checkpoint.safetensors");
  const { tensors, metadata } = decodeAnySafetensors(readFileSync(path));
  assert.ok(Number(metadata.wallSeconds) > 0, `the checkpoint's wall time: ${metadata.wallSeconds}`);
  // Say the first process ran 1000 s: the resumed summary adds its own time to that.
  writeFileSync(path, encodeSafetensors(tensors, { ...metadata, wallSeconds: "1000" }));
  const t0 = performance.now();
  tree.dispose((await train({}, { outDir: dir, resume: true, dataset: mnist })).params);
  const own = (performance.now() - t0) / 1000;
  const { wallSeconds } = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { wallSeconds: number };
  assert.ok(wallSeconds > 1000 && wallSeconds <= 1000 + own, `wallSeconds ${wallSeconds}, resumed process ${own} s`);
});

test("a run folder is never overwritten silently", async () => {
  const dir = tmp();
  tree.dispose((await train({ ...tiny, epochs: 1, maxSteps: 2 }, { outDir: dir, dataset: mnist })).params);
  await assert.rejects(train({ ...tiny, epochs: 1 }, { outDir: dir, dataset: mnist }), (e: Error) => e instanceof UserError && /--resume/.test(e.message));
});

test("a NaN loss stops the run with a clear message and keeps the last good checkpoint", async () => {
  const dir = tmp();
  const cfg = { ...tiny, lr: 1e30, clip: 0, warmupSteps: 0, checkpointEvery: 4 };
  await assert.rejects(train(cfg, { outDir: dir, dataset: mnist }), (e: Error) => {
    assert.ok(e instanceof DivergedError, String(e));
    assert.match(e.message, /loss became (NaN|Infinity|-Infinity) at step \d+/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
  // The checkpoint on disk, if any, was written before the loss went bad.
  if (existsSync(join(dir, "checkpoint.safetensors"))) {
    const ck = decodeSafetensors(readFileSync(join(dir, "checkpoint.safetensors")));
    for (const [name, t] of Object.entries(ck.tensors)) assert.ok(Array.from(t.data).every(Number.isFinite), `${name} is finite`);
  }
});

test("training does not leak device buffers over a few hundred steps", async () => {
  const tracker = await trackBuffers();
  const live: number[] = [];
  const onEvent = (e: TrainEvent) => {
    if (e.type === "step" && (e.step === 50 || e.step === 300)) live.push(tracker.live());
  };
  const { params } = await train({ ...tiny, epochs: 20, maxSteps: 300, logEvery: 10, checkpointEvery: 1000 }, { dataset: mnist, onEvent });
  tree.dispose(params);
  tracker.stop();
  assert.equal(live.length, 2);
  assert.equal(live[1], live[0], `live buffers grew from ${live[0]} at step 50 to ${live[1]} at step 300`);
});
