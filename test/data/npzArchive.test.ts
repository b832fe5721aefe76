/** `.npz` archives written by NumPy itself, held against the same arrays as a folder of `.npy` files. */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadImageDataset } from "../../src/data/loadImageDataset.js";
import { loadNpyFolder, readNpy } from "../../src/data/npyArrays.js";
import { loadNpz } from "../../src/data/npzArchive.js";
import type { ImageDataset } from "../../src/data/types.js";
import { assertOneLineErrors, run } from "../cli/runCli.js";
import { bandsPython, pythonHas, runPython, tempDir } from "./fixtures.js";

const skip = !pythonHas("numpy") && "NumPy (python3-numpy) is not installed";

/**
 * In a fresh folder: `npy/` (the bands as four .npy files, the reference), `stored.npz` (np.savez,
 * class names as a unicode member `class_names`), `compressed.npz` (np.savez_compressed, class names
 * as a bytes member `classes`), `feats/feats.npz` (float32 features, int32 labels, classes.txt beside
 * it), and one archive per mistake.
 */
function writeArchives(): string {
  const dir = tempDir("dynamoe-npz-");
  mkdirSync(join(dir, "npy"));
  mkdirSync(join(dir, "feats"));
  writeFileSync(join(dir, "feats", "classes.txt"), "low\nmiddle\nhigh\n");
  runPython(`${bandsPython(3)}
d = ${JSON.stringify(dir)}
p = lambda *n: os.path.join(d, *n)
for n, a in dict(x_train=xt, y_train=yt, x_test=xs, y_test=ys).items(): np.save(p("npy", n + ".npy"), a)
np.savez(p("stored.npz"), x_train=xt, y_train=yt, x_test=xs, y_test=ys, class_names=np.array(["low", "middle", "high"]))
np.savez_compressed(p("compressed.npz"), x_train=xt, y_train=yt, x_test=xs, y_test=ys, classes=np.array([b"low", b"middle", b"high"]))
f = lambda x: (x / 255).astype(np.float32)
np.savez_compressed(p("feats", "feats.npz"), x_train=f(xt), y_train=yt.astype(np.int32), x_test=f(xs), y_test=ys.astype(np.int32))
np.save(p("feats", "x_train.npy"), f(xt))
np.savez(p("no-test-labels.npz"), x_train=xt, y_train=yt, x_test=xs)
np.savez(p("float64.npz"), x_train=xt.astype(np.float64), y_train=yt, x_test=xs.astype(np.float64), y_test=ys)
np.savez_compressed(p("short.npz"), x_train=xt, y_train=yt[:-1], x_test=xs, y_test=ys)
np.savez(p("pickled.npz"), x_train=xt, y_train=yt, x_test=xs, y_test=ys, class_names=np.array(["low", "middle", "high"], dtype=object))
np.savez(p("two-names.npz"), x_train=xt, y_train=yt, x_test=xs, y_test=ys, class_names=np.array(["low", "middle"]))
`);
  writeFileSync(join(dir, "text.npz"), "x_train,y_train\n1,2\n");
  return dir;
}

/** Everything but the name and source equal: the same arrays, normalisation and class names. */
function assertSameData(actual: ImageDataset, expected: ImageDataset): void {
  const strip = ({ name: _n, source: _s, ...rest }: ImageDataset) => rest;
  assert.deepEqual(strip(actual), strip(expected));
}

test("np.savez and np.savez_compressed archives load as the same dataset as their arrays saved one by one", { skip }, () => {
  const dir = writeArchives();
  const reference = loadNpyFolder(join(dir, "npy"));
  const withNames = { ...reference, classNames: ["low", "middle", "high"] };
  for (const name of ["stored", "compressed"]) {
    const d = loadNpz(join(dir, `${name}.npz`));
    assertSameData(d, withNames);
    assert.equal(d.name, name);
    assert.match(d.source, /\.npz archive: x_train uint8 \[240,10,8,3\], x_test \[60,10,8,3\], normalised by the training split\)$/);
  }
  assert.deepEqual([reference.shape, reference.stats?.mean.length, reference.train.y.length], [[10, 8, 3], 3, 240]);
  // float32 features are used exactly as given; int32 labels; class names from classes.txt beside the file.
  const feats = loadNpz(join(dir, "feats", "feats.npz"));
  assert.deepEqual(feats.train.x, readNpy(join(dir, "feats", "x_train.npy")).data);
  assert.deepEqual([feats.train.y, feats.test.y], [reference.train.y, reference.test.y]);
  assert.deepEqual([feats.classNames, feats.inputDim, feats.shape, feats.stats], [["low", "middle", "high"], 240, undefined, undefined]);
});

test("mistakes in an .npz archive are one DataError line naming the file and what is wrong", { skip }, async () => {
  const dir = writeArchives();
  const cases: [string, RegExp][] = [
    ["no-test-labels", /no-test-labels\.npz: no y_test array \(it holds x_train, y_train, x_test\); save with np\.savez\(FILE, x_train=\.\.\., y_train=\.\.\., x_test=\.\.\., y_test=\.\.\.\)$/],
    ["float64", /float64\.npz \(x_train\): float64; images must be uint8 pixels or float32 features$/],
    ["short", /short\.npz \(y_train\): shape \[239\], expected \[240\] labels$/],
    ["pickled", /pickled\.npz \(class_names\): Python objects \(pickled\); save the names as a string array, np\.array\(names\)$/],
    ["two-names", /two-names\.npz \(class_names\): 2 class names for 3 classes$/],
    ["text", /text\.npz: not a zip archive/],
    ["missing", /missing\.npz: file not found$/],
  ];
  for (const [name, pattern] of cases) {
    await assert.rejects(loadImageDataset(join(dir, `${name}.npz`)), (e: Error) => e.name === "DataError" && pattern.test(e.message) && !e.message.includes("\n"), name);
  }
  assertOneLineErrors([[["train", "--data", join(dir, "short.npz")], /^dynamoe: .*short\.npz \(y_train\): shape \[239\], expected \[240\] labels$/]]);
});

test("dynamoe train --data FILE.npz trains and records the data in the run folder", { skip }, () => {
  const dir = writeArchives();
  const out = join(dir, "run");
  const t = run(["train", "--data", join(dir, "compressed.npz"), "--model", "dense", "--set", "d=16", "--set", "h=16", "--set", "layers=1", "--batch-size", "16", "--epochs", "2", "--out", out]);
  assert.equal(t.code, 0, t.stderr);
  const acc = Number(/test accuracy\s+([\d.]+)%/.exec(t.stdout)![1]);
  assert.ok(acc > 80, `test accuracy ${acc}% on a separable problem`);
  const data = JSON.parse(readFileSync(join(out, "data.json"), "utf8"));
  assert.deepEqual([data.name, data.classNames, data.shape], ["compressed", ["low", "middle", "high"], [10, 8, 3]]);
  assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).dataset, join(dir, "compressed.npz"));
});
