import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_SYSTEM_DIR, loadFashionMnist } from "../../src/data/fashionMnist.js";
import { FASHION_MNIST_STATS, normalizePixels } from "../../src/data/normalize.js";
import { tempDir, writeIdxFolder } from "./fixtures.js";

test("loadFashionMnist reads gzipped IDX files from dataDir", async () => {
  const dir = tempDir();
  const want = writeIdxFolder(dir, 5, 2, true);
  const ds = await loadFashionMnist({ dataDir: dir });
  assert.equal(ds.name, "fashion-mnist");
  assert.equal(ds.classNames.length, 10);
  assert.equal(ds.classNames[9], "Ankle boot");
  assert.deepEqual(ds.train.x, normalizePixels(want.train.x, FASHION_MNIST_STATS));
  assert.deepEqual(ds.train.y, want.train.y);
});

test("an empty dataDir names the missing file", async () => {
  const dir = tempDir();
  await assert.rejects(loadFashionMnist({ dataDir: dir }), { name: "DataError", message: `${dir}: missing train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)` });
});

test("real Fashion-MNIST from the Debian package: 60,000 + 10,000 images, 6,000 / 1,000 per class", { skip: existsSync(FASHION_MNIST_SYSTEM_DIR) ? false : `${FASHION_MNIST_SYSTEM_DIR} is missing (sudo apt-get install dataset-fashion-mnist)` }, async () => {
  const ds = await loadFashionMnist();
  assert.deepEqual(ds.classNames, FASHION_MNIST_CLASS_NAMES);
  assert.deepEqual([ds.train.n, ds.test.n], [60000, 10000]);
  assert.equal(ds.train.x.length, 60000 * 784);
  assert.equal(ds.test.x.length, 10000 * 784);
  const hist = (y: Uint8Array) => Array.from(y).reduce((h, v) => (h[v]++, h), new Array(10).fill(0));
  assert.deepEqual(hist(ds.train.y), new Array(10).fill(6000));
  assert.deepEqual(hist(ds.test.y), new Array(10).fill(1000));
  let s = 0;
  for (const v of ds.train.x) s += v;
  assert.ok(Math.abs(s / ds.train.x.length) < 1e-3);
});
