import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadNpyFolder, readNpy } from "../../src/data/npyArrays.js";
import { run } from "../cli/runCli.js";
import { bandsPython, pythonHas, runPython } from "./fixtures.js";

const numpy = pythonHas("numpy");

/** Write the bands dataset (`fixtures.ts`) with NumPy itself as four `.npy` files in `root`, then run `extra`. */
function writeArrays(root: string, extra = ""): void {
  runPython(`${bandsPython()}
r = ${JSON.stringify(root)}
np.save(os.path.join(r, "x_train.npy"), xt); np.save(os.path.join(r, "y_train.npy"), yt)
np.save(os.path.join(r, "x_test.npy"), xs); np.save(os.path.join(r, "y_test.npy"), ys)
${extra}`);
}

test(".npy arrays written by NumPy load as a dataset: pixels normalised by the training split, labels, class names", { skip: !numpy && "NumPy (python3-numpy) is not installed" }, () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-npy-"));
  writeArrays(root);
  writeFileSync(join(root, "classes.txt"), "low\nmiddle\nhigh\n");
  const d = loadNpyFolder(root);
  assert.deepEqual([d.inputDim, d.numClasses, d.train.n, d.test.n, d.shape], [80, 3, 240, 60, [10, 8, 1]]);
  assert.deepEqual(d.classNames, ["low", "middle", "high"]);
  assert.deepEqual([...d.train.y.subarray(0, 4)], [0, 1, 2, 0]);
  const mean = d.train.x.reduce((s, v) => s + v, 0) / d.train.x.length;
  assert.ok(Math.abs(mean) < 1e-4, `normalised mean ${mean}`);
  const a = readNpy(join(root, "y_test.npy"));
  assert.deepEqual([a.dtype, a.shape], ["<i8", [60]]);
});

test("dynamoe train --data on an .npy folder trains, and its mistakes are one line", { skip: !numpy && "NumPy (python3-numpy) is not installed" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-npy-cli-"));
  const root = join(dir, "bands");
  spawnSync("mkdir", [root]);
  writeArrays(root);
  const out = join(dir, "run");
  const t = run(["train", "--data", root, "--model", "dense", "--set", "d=16", "--set", "h=16", "--set", "layers=1", "--batch-size", "16", "--epochs", "3", "--out", out]);
  assert.equal(t.code, 0, t.stderr);
  const acc = Number(/test accuracy\s+([\d.]+)%/.exec(t.stdout)![1]);
  assert.ok(acc > 80, `test accuracy ${acc}% on a separable problem`);
  const bad = join(dir, "bad");
  spawnSync("mkdir", [bad]);
  writeArrays(bad, `np.save(os.path.join(r, "x_test.npy"), xs.astype(np.float64))`);
  const e = run(["train", "--data", bad]);
  assert.equal(e.code, 1);
  assert.match(e.stderr.trim(), /^dynamoe: .*bad: x_train is uint8 \[240,10,8\] but x_test is float64 \[60,10,8\]; they must match past the first axis$/);
});
