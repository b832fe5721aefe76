import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { holdOut, validationSize } from "../../src/data/holdOut.js";
import { loadMnist } from "../../src/data/mnist.js";
import type { ImageDataset } from "../../src/data/types.js";
import { readRunConfig } from "../../src/train/config.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { InterruptedError, train, type TrainEvent } from "../../src/train/train.js";
import { comparableLines, metricLines, setup } from "../helpers.js";
import type { TrainConfigInput } from "../../src/train/config.js";

let mnist: ImageDataset;
before(async () => {
  await setup();
  mnist = await loadMnist();
});

const tmp = () => mkdtempSync(join(tmpdir(), "dynamoe-validation-"));
const lines = metricLines;
const comparable = comparableLines;

// A small MoE on 1,024 of the MNIST training images left after 2,000 are held out.
const tiny: TrainConfigInput = {
  dataset: "mnist", model: "moe", d: 32, h: 32, layers: 2, experts: [4, 2], epochs: 2, batchSize: 64, evalBatchSize: 500,
  trainLimit: 1024, testLimit: 1000, validation: 2000, evalEvery: 6, warmupSteps: 4, logEvery: 4, checkpointEvery: 8, seed: 3,
};

test("the hold-out: disjoint from training, the same images whatever the run, in row order", () => {
  const a = holdOut(mnist.train, 5000, mnist.inputDim);
  const b = holdOut(mnist.train, 5000, mnist.inputDim);
  assert.equal(a.validation.n, 5000);
  assert.equal(a.trainRows.length, mnist.train.n - 5000);
  assert.deepEqual(a.trainRows, b.trainRows);
  const train = new Set(a.trainRows);
  const held = [...Array(mnist.train.n).keys()].filter((r) => !train.has(r));
  assert.equal(held.length, 5000);
  // The held-out copy is those rows' pixels and labels, in order; training rows ascend.
  for (const i of [0, 1234, 4999]) {
    assert.equal(a.validation.y[i], mnist.train.y[held[i]]);
    assert.deepEqual(a.validation.x.subarray(i * 784, (i + 1) * 784), mnist.train.x.subarray(held[i] * 784, (held[i] + 1) * 784));
  }
  assert.ok(a.trainRows.every((r, i) => i === 0 || r > a.trainRows[i - 1]));
  // Spread over the whole split, not its first rows.
  assert.ok(held[0] < 100 && held.at(-1)! > mnist.train.n - 100, `${held[0]} … ${held.at(-1)}`);
  assert.throws(() => holdOut(mnist.train, mnist.train.n, mnist.inputDim), /leave none of the 60000 training images/);
  // auto: 5,000, or a tenth of a smaller split; a number is taken as given.
  assert.deepEqual([validationSize("auto", 60000), validationSize("auto", 256), validationSize("auto", 9), validationSize(3, 9)], [5000, 25, 0, 3]);
});

test("validation every epoch and every evalEvery steps, the test set once at the end; keepBest reports the best state", async () => {
  const dir = tmp();
  const { summary, params } = await train({ ...tiny, keepBest: true }, { outDir: dir, dataset: mnist });
  tree.dispose(params);
  const evals = lines(dir).filter((l) => l.type === "eval");
  const tests = lines(dir).filter((l) => l.type === "test");
  // 16 steps per epoch: every 6 steps (6, 12, 18, 24, 30) and at the epochs' ends (16, 32).
  assert.deepEqual(evals.map((l) => l.step), [6, 12, 16, 18, 24, 30, 32]);
  assert.ok(evals.every((l) => l.split === "validation"));
  assert.equal(tests.length, 1);
  assert.equal(tests[0].split, "test");
  assert.equal(summary.validation!.n, 2000);
  assert.equal(summary.test.n, 1000);
  const bestAt = evals.reduce((b, l) => ((l.accuracy as number) > (b.accuracy as number) ? l : b));
  assert.equal(summary.best!.step, bestAt.step);
  assert.equal(summary.best!.accuracy, bestAt.accuracy);
  assert.equal(tests[0].step, bestAt.step);
  assert.equal(tests[0].accuracy, summary.test.accuracy);
  const best = decodeSafetensors(readFileSync(join(dir, "best.safetensors")));
  assert.equal(JSON.parse(best.metadata.progress).step, bestAt.step);
});

test("with keepBest and evalEvery, an interrupted run resumed ends with exactly the lines, best state and summary of an uninterrupted one", async () => {
  const whole = tmp();
  const split = tmp();
  const config = { ...tiny, keepBest: true };
  tree.dispose((await train(config, { outDir: whole, dataset: mnist })).params);
  const controller = new AbortController();
  const onEvent = (e: TrainEvent) => {
    if (e.type === "step" && e.step === 23) controller.abort();
  };
  await assert.rejects(train(config, { outDir: split, dataset: mnist, onEvent, signal: controller.signal }), InterruptedError);
  tree.dispose((await train({}, { outDir: split, resume: true, dataset: mnist })).params);
  assert.deepEqual(comparable(split), comparable(whole));
  const [w, s] = [whole, split].map((d) => decodeSafetensors(readFileSync(join(d, "best.safetensors"))));
  for (const name of Object.keys(w.tensors)) assert.deepEqual(s.tensors[name].data, w.tensors[name].data, name);
  const [sw, ss] = [whole, split].map((d) => JSON.parse(readFileSync(join(d, "summary.json"), "utf8")));
  assert.deepEqual([ss.test, ss.validation, ss.best], [sw.test, sw.validation, sw.best]);
});

test("a run folder from before the validation split resumes as it ran (validation 0); keepBest without one is a config error", async () => {
  const dir = tmp();
  writeFileSync(join(dir, "config.json"), JSON.stringify({ task: "image", dataset: "mnist", d: 8 }));
  assert.equal(readRunConfig(dir).validation, 0);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ task: "lm", d: 8 }));
  assert.equal(readRunConfig(dir).validation, "auto"); // unused by language models
  await assert.rejects(train({ ...tiny, validation: 0, keepBest: true }, { outDir: tmp(), dataset: mnist }), /keepBest: needs a validation split/);
});
