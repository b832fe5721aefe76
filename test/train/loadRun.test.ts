import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { loadMnist } from "../../src/data/mnist.js";
import type { ImageDataset } from "../../src/data/types.js";
import { loadRun } from "../../src/index.js";
import { train } from "../../src/train/train.js";
import { setup } from "../helpers.js";

let mnist: ImageDataset;
before(async () => {
  await setup();
  mnist = await loadMnist();
});

test("loadRun rebuilds a trained run from its folder alone; predict gives the run's test accuracy", async () => {
  const dir = join(mkdtempSync(join(tmpdir(), "dynamoe-loadrun-")), "run");
  const n = 400;
  const { summary, params } = await train(
    { dataset: "mnist", model: "moe", d: 32, h: 32, layers: 2, experts: [4, 3], router: { kind: "topk", k: 2 }, epochs: 1, batchSize: 64, trainLimit: 1024, testLimit: n, evalBatchSize: n, warmupSteps: 4 },
    { outDir: dir, dataset: mnist },
  );
  tree.dispose(params);
  const run = await loadRun(dir);
  assert.deepEqual([run.modelConfig.inputDim, run.modelConfig.numClasses, run.modelConfig.experts], [784, 10, [4, 3]]);
  assert.equal(run.progress.step, summary.steps);
  assert.deepEqual([run.data?.name, run.data?.shape, run.data?.classNames.length, run.data?.normalize?.mean], ["mnist", [28, 28, 1], 10, [0.1307]]);
  const { classes, probs } = await run.predict(mnist.test.x.subarray(0, n * 784));
  run.dispose();
  assert.equal(classes.length, n);
  assert.ok(Math.abs(probs.subarray(0, 10).reduce((s, p) => s + p, 0) - 1) < 1e-5);
  const correct = classes.reduce((s, c, i) => s + (c === mnist.test.y[i] ? 1 : 0), 0);
  assert.equal(correct / n, summary.test.accuracy);
  await assert.rejects(loadRun(join(dir, "missing")), /no config\.json, not a dynamoe run folder/);
});
