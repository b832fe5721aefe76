import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PNG } from "pngjs";
import { decodeCifar10PngStrip, parseCifar10Labels, readCifar10PngFolder } from "../../src/data/cifar10Png.js";
import { DataError } from "../../src/data/types.js";
import { cifarPngStrip, makeCifarBatches, makeCifarImages, tempDir } from "./fixtures.js";

test("decodeCifar10PngStrip reads one image per row, channels last", () => {
  const images = makeCifarImages(3, 4);
  assert.deepEqual(decodeCifar10PngStrip(cifarPngStrip(images.x), "s.png"), images.x);
  // The same strip saved as RGBA decodes the same (alpha dropped).
  const rgba = new PNG({ width: 1024, height: 3 });
  for (let p = 0; p < 3 * 1024; p++) {
    rgba.data[4 * p] = images.x[3 * p];
    rgba.data[4 * p + 1] = images.x[3 * p + 1];
    rgba.data[4 * p + 2] = images.x[3 * p + 2];
    rgba.data[4 * p + 3] = 200;
  }
  assert.deepEqual(decodeCifar10PngStrip(PNG.sync.write(rgba), "rgba.png"), images.x);
});

test("bad strips and labels are one-line DataErrors", () => {
  const narrow = new PNG({ width: 32, height: 2 });
  assert.throws(() => decodeCifar10PngStrip(PNG.sync.write(narrow), "n.png"), { name: "DataError", message: "n.png: expected a PNG strip 1024 pixels wide (one 32x32 image per row), found 32" });
  const strip = cifarPngStrip(makeCifarImages(2, 1).x);
  assert.throws(() => decodeCifar10PngStrip(strip.subarray(0, strip.length - 40), "cut.png"), (e: unknown) => e instanceof DataError && e.message.startsWith("cut.png: corrupt PNG") && !e.message.includes("\n"));
  assert.deepEqual(Array.from(parseCifar10Labels("[0, 9, 3]", "l.json", 3)), [0, 9, 3]);
  assert.throws(() => parseCifar10Labels("[0, 9]", "l.json", 3), { message: "l.json: 2 labels for 3 images" });
  assert.throws(() => parseCifar10Labels("[0, 10, 1]", "l.json", 3), /label 10 at index 1/);
  assert.throws(() => parseCifar10Labels("{", "l.json", 3), /not JSON/);
});

test("readCifar10PngFolder reads the package layout", async () => {
  const batches = makeCifarBatches(2);
  const dir = tempDir();
  batches.train.forEach((b, i) => writeFileSync(join(dir, `data_batch_${i + 1}.png`), cifarPngStrip(b.x)));
  writeFileSync(join(dir, "test_batch.png"), cifarPngStrip(batches.test.x));
  writeFileSync(join(dir, "train_lables.json"), JSON.stringify(batches.train.flatMap((b) => Array.from(b.y))));
  writeFileSync(join(dir, "test_lables.json"), JSON.stringify(Array.from(batches.test.y)));
  const { train, test: testSplit } = await readCifar10PngFolder(dir);
  assert.equal(train.n, 10);
  assert.equal(testSplit.n, 2);
  assert.deepEqual(train.x.subarray(2 * 3072, 4 * 3072), batches.train[1].x);
  assert.deepEqual(Array.from(train.y), batches.train.flatMap((b) => Array.from(b.y)));
  assert.deepEqual(testSplit.x, batches.test.x);
});
