import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PNG } from "pngjs";
import { loadImageFolder } from "../../src/data/imageFolder.js";
import { lcg } from "../helpers.js";
import { assertOneLineErrors, run } from "../cli/runCli.js";

/**
 * A folder of 12×10 PNGs in three classes: class c has a bright horizontal band at rows 3c..3c+2,
 * plus noise; `rgb` colours the band red (else gray).
 */
function writeFolder(root: string, opts: { rgb?: boolean; perClass?: [number, number] } = {}): void {
  const rand = lcg(7);
  const [nTrain, nTest] = opts.perClass ?? [60, 20];
  for (const [split, n] of [["train", nTrain], ["test", nTest]] as const) {
    for (const cls of ["circle", "square", "triangle"]) {
      const c = ["circle", "square", "triangle"].indexOf(cls);
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) {
        const png = new PNG({ width: 12, height: 10 });
        for (let y = 0; y < 10; y++) {
          for (let x = 0; x < 12; x++) {
            const v = Math.min(255, Math.floor(40 * rand() + (y >= 3 * c && y < 3 * c + 3 ? 200 : 0)));
            const at = (y * 12 + x) * 4;
            png.data[at] = v;
            png.data[at + 1] = opts.rgb ? 0 : v;
            png.data[at + 2] = opts.rgb ? 0 : v;
            png.data[at + 3] = 255;
          }
        }
        writeFileSync(join(root, split, cls, `${String(i).padStart(3, "0")}.png`), PNG.sync.write(png));
      }
    }
  }
}

test("a folder of images per class loads with its own name, class names, size and channels, normalised by its training split", () => {
  const root = join(mkdtempSync(join(tmpdir(), "dynamoe-folder-")), "shapes");
  writeFolder(root);
  const d = loadImageFolder(root);
  assert.equal(d.name, "shapes");
  assert.deepEqual(d.classNames, ["circle", "square", "triangle"]);
  assert.deepEqual([d.inputDim, d.numClasses, d.train.n, d.test.n], [120, 3, 180, 60]);
  assert.deepEqual([...d.train.y.subarray(0, 2), d.train.y[60], d.train.y[179]], [0, 0, 1, 2]);
  // Normalised by the training split's own statistics: mean 0, std 1 over the training pixels.
  const mean = d.train.x.reduce((s, v) => s + v, 0) / d.train.x.length;
  const std = Math.sqrt(d.train.x.reduce((s, v) => s + (v - mean) ** 2, 0) / d.train.x.length);
  assert.ok(Math.abs(mean) < 1e-4 && Math.abs(std - 1) < 1e-3, `mean ${mean}, std ${std}`);
  const rgbRoot = join(mkdtempSync(join(tmpdir(), "dynamoe-folder-")), "red");
  writeFolder(rgbRoot, { rgb: true, perClass: [4, 2] });
  assert.equal(loadImageFolder(rgbRoot).inputDim, 360); // 12 × 10 × 3 channels
});

test("mistakes in the folder are one line naming the file or folder", () => {
  const root = mkdtempSync(join(tmpdir(), "dynamoe-folder-bad-"));
  assert.throws(() => loadImageFolder(join(root, "missing")), /the choices are mnist, fashion-mnist, cifar10, or a folder of images/);
  mkdirSync(join(root, "train", "a"), { recursive: true });
  assert.throws(() => loadImageFolder(root), /needs train\/<class>\/\*\.png and test\/<class>\/\*\.png/);
  writeFolder(join(root, "ok"), { perClass: [2, 1] });
  const odd = new PNG({ width: 5, height: 5 });
  writeFileSync(join(root, "ok", "test", "square", "odd.png"), PNG.sync.write(odd));
  assert.throws(() => loadImageFolder(join(root, "ok")), /odd\.png: 5×5, but the images are 12×10/);
  writeFileSync(join(root, "ok", "test", "square", "odd.png"), "not a png");
  assert.throws(() => loadImageFolder(join(root, "ok")), /odd\.png: not a readable PNG/);
});

test("dynamoe train --data FOLDER trains on it; eval, results and export work on the run, under the folder's name", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-folder-cli-"));
  const root = join(dir, "shapes");
  writeFolder(root);
  const out = join(dir, "runs", "a");
  const t = run(["train", "--data", root, "--set", "d=16", "--set", "h=16", "--set", "layers=2", "--set", "eMax=4", "--batch-size", "16", "--epochs", "3", "--out", out]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /test accuracy\s+\d+\.\d+%/);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assert.equal(summary.dataset, "shapes");
  assert.ok(summary.test.accuracy > 0.8, `test accuracy ${summary.test.accuracy} on a separable problem`);
  const e = run(["eval", out]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, new RegExp(`test accuracy\\s+${(100 * summary.test.accuracy).toFixed(2)}%`));
  const r = run(["results", join(dir, "runs")]);
  assert.match(r.stdout, /\bshapes\b/);
  const x = run(["export", out]);
  assert.equal(x.code, 0, x.stderr);
  // From the run folder alone (data.json): the class names and the pixel normalisation travel with the weights.
  const exported = JSON.parse(readFileSync(join(out, "pytorch", "config.json"), "utf8"));
  assert.deepEqual([exported.class_names, exported.normalize.mean.length, exported.input_dim], [["circle", "square", "triangle"], 1, 120]);
  // inspect names the class-usage rows by the folder's classes.
  const ins = run(["inspect", out]);
  assert.equal(ins.code, 0, ins.stderr);
  assert.match(readFileSync(join(out, "plots", "layer0-class-usage.svg"), "utf8"), /triangle/);
  // predict reads new files as the run's data was read (data.json): one line per file, its class.
  const files = ["circle", "square", "triangle"].map((c) => join(root, "test", c, "007.png"));
  const p = run(["predict", out, ...files, "--json"]);
  assert.equal(p.code, 0, p.stderr);
  const predicted = (JSON.parse(p.stdout) as { class: string; probability: number }[]).map((r) => r.class);
  assert.deepEqual(predicted, ["circle", "square", "triangle"]);
  assertOneLineErrors([
    [["train", "--data", join(dir, "nowhere")], /unknown dataset ".*nowhere"/],
    [["predict", out, join(root, "train")], /train: not a readable PNG/],
  ]);
});
