/**
 * Divergence: a run whose loss or parameters become NaN stops with one line naming the last finite
 * checkpoint, never writes a non-finite one, and continues from it with a lower learning rate
 * (`--resume` accepts the changes that are safe mid-run and refuses the others by name).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { tree } from "../../src/engine/jax.js";
import { CHECKPOINT_FILE, loadCheckpoint } from "../../src/train/checkpoint.js";
import { train } from "../../src/train/train.js";
import { run } from "../cli/runCli.js";
import { setup } from "../helpers.js";
import { flattenWithPaths } from "../../src/engine/paramTree.js";
import { initImageModel } from "../../src/models/imageModel.js";
import { modelConfigFor } from "../../src/train/imageTask.js";
import { resolveConfig } from "../../src/train/config.js";
import { seedKey } from "../../src/engine/seedKey.js";
import type { TrainConfigInput } from "../../src/train/config.js";

before(setup);

const WORK = mkdtempSync(join(tmpdir(), "dynamoe-diverge-"));
const BASE: TrainConfigInput = { d: 16, h: 16, layers: 2, eMax: 4, trainLimit: 512, testLimit: 100, batchSize: 64, epochs: 3, logEvery: 2, checkpointEvery: 2, warmupSteps: 0, engine: "jax" };

test("a NaN loss stops the run with one line naming the last finite checkpoint, which loads and continues at a lower --lr", async () => {
  const dir = join(WORK, "nan-loss");
  await assert.rejects(train({ ...BASE, lr: 1e6 }, { outDir: dir }), {
    name: "DivergedError",
    message: `loss became NaN at step 4; the last finite checkpoint (step 2) is kept in ${dir}: continue from it with a lower learning rate, e.g. dynamoe train --resume ${dir} --lr 500000`,
  });
  const template = initImageModel(seedKey(0), modelConfigFor(resolveConfig({ ...BASE, lr: 1e6 }), 784, 10));
  const state = loadCheckpoint(join(dir, CHECKPOINT_FILE), template);
  assert.equal(state.progress.step, 2);
  for (const [path, leaf] of flattenWithPaths(state.params)) assert.ok((await leaf.ref.data()).every(Number.isFinite), path);
  tree.dispose([state.params, state.opt, state.key]);

  const refused = run(["train", "--resume", dir, "--lr", "0.001", "--seed", "4"]);
  assert.notEqual(refused.code, 0);
  assert.equal(refused.stderr.trim(), "dynamoe: --resume cannot change seed (the checkpoint was trained with the saved value); only lr, minLrRatio, epochs, maxSteps, logEvery, checkpointEvery, evalBatchSize may change");
  // The advice is accepted: the run goes on from step 2 at the new rate. (Two steps at lr 1e6 left
  // weights that may still diverge; then it stops again with the same one line.)
  const resumed = run(["train", "--resume", dir, "--lr", "0.001"]);
  assert.match(resumed.stderr, /^note: resuming with lr 0\.001 \(was 1000000\)$/m);
  assert.match(resumed.stderr, /resuming at step 2/);
  if (resumed.code !== 0) assert.match(resumed.stderr.trim().split("\n").at(-1)!, /^dynamoe: loss became NaN at step \d+; the last finite checkpoint \(step \d+\) is kept/);
  else assert.ok(existsSync(join(dir, "summary.json")));
});

test("parameters that become NaN are never written as a checkpoint", async () => {
  const dir = join(WORK, "nan-params");
  await assert.rejects(train({ ...BASE, lr: 1e9 }, { outDir: dir }), { name: "DivergedError", message: /^the parameters became NaN \(params\.[\w.]+\) at step 2; try a lower --lr or a stronger clip$/ });
  assert.equal(existsSync(join(dir, CHECKPOINT_FILE)), false);
});

test("--resume refuses changes to the model or the data by name, in the library too", async () => {
  const dir = join(WORK, "refuse");
  const r = await train({ ...BASE, lr: 1e-3, epochs: 1, maxSteps: 2 }, { outDir: dir });
  tree.dispose(r.params);
  await assert.rejects(train(undefined, { outDir: dir, resume: true, changes: { d: 32, router: { kind: "switch" } } }), {
    name: "UserError",
    message: /^--resume cannot change d, router /,
  });
  const notes: string[] = [];
  const more = await train(undefined, { outDir: dir, resume: true, changes: { maxSteps: 4 }, onEvent: (e) => e.type === "note" && notes.push(e.message) });
  tree.dispose(more.params);
  assert.deepEqual(notes, ["resuming with maxSteps 4 (was 2)"]);
  assert.equal(more.summary.steps, 4);
});
