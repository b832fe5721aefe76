import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeCifar10Batch, readCifar10BinaryFolder, readCifar10Tarball } from "../../src/data/cifar10Binary.js";
import { DataError } from "../../src/data/types.js";
import { cifarBinaryRecords, cifarTarball, makeCifarBatches, makeCifarImages, tempDir } from "./fixtures.js";

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

test("decodeCifar10Batch turns R, G, B planes into channels-last pixels", () => {
  // One record by hand: pixel p of plane c holds c * 100 + (p % 50).
  const record = new Uint8Array(3073);
  record[0] = 7;
  for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) record[1 + c * 1024 + p] = c * 100 + (p % 50);
  const split = decodeCifar10Batch(record, "one.bin");
  assert.equal(split.n, 1);
  assert.deepEqual(Array.from(split.y), [7]);
  // [32, 32, 3]: pixel (row 1, col 2) is p = 34, at offset 3 * 34.
  assert.deepEqual(Array.from(split.x.subarray(3 * 34, 3 * 34 + 3)), [34, 134, 234]);
  const images = makeCifarImages(4, 9);
  const round = decodeCifar10Batch(cifarBinaryRecords(images), "four.bin");
  assert.deepEqual(round.x, images.x);
  assert.deepEqual(round.y, images.y);
});

test("decodeCifar10Batch rejects partial records and bad labels", () => {
  assert.throws(() => decodeCifar10Batch(new Uint8Array(3073 * 2 - 5), "short.bin"), (e: unknown) => e instanceof DataError && /short\.bin: corrupt CIFAR-10 batch \(6141 bytes/.test(e.message));
  const rec = new Uint8Array(3073);
  rec[0] = 10;
  assert.throws(() => decodeCifar10Batch(rec, "label.bin"), /label 10 in record 0/);
});

test("readCifar10Tarball reads the six batches in order from .tar.gz and .tar", async () => {
  const batches = makeCifarBatches(3);
  const dir = tempDir();
  for (const gzip of [true, false]) {
    const path = join(dir, gzip ? "c.tar.gz" : "c.tar");
    writeFileSync(path, await cifarTarball(batches, gzip));
    const { train, test: testSplit } = await readCifar10Tarball(path);
    assert.equal(train.n, 15);
    assert.equal(testSplit.n, 3);
    assert.deepEqual(train.x, concat(batches.train.map((b) => b.x)));
    assert.deepEqual(train.y, concat(batches.train.map((b) => b.y)));
    assert.deepEqual(testSplit.x, batches.test.x);
    assert.deepEqual(testSplit.y, batches.test.y);
  }
});

test("readCifar10BinaryFolder reads an extracted folder", async () => {
  const batches = makeCifarBatches(2);
  const dir = join(tempDir(), "cifar-10-batches-bin");
  mkdirSync(dir);
  batches.train.forEach((b, i) => writeFileSync(join(dir, `data_batch_${i + 1}.bin`), cifarBinaryRecords(b)));
  writeFileSync(join(dir, "test_batch.bin"), cifarBinaryRecords(batches.test));
  const { train, test: testSplit } = await readCifar10BinaryFolder(dir);
  assert.deepEqual(train.x, concat(batches.train.map((b) => b.x)));
  assert.deepEqual(testSplit.y, batches.test.y);
});

test("a truncated or incomplete tarball is a one-line DataError", async () => {
  const dir = tempDir();
  const gz = await cifarTarball(makeCifarBatches(3));
  const cut = join(dir, "cut.tar.gz");
  writeFileSync(cut, gz.subarray(0, gz.length - 100));
  await assert.rejects(readCifar10Tarball(cut), (e: unknown) => e instanceof DataError && e.message.startsWith(`${cut}: corrupt or truncated archive`) && !e.message.includes("\n"));
  const other = join(dir, "other.tar.gz");
  writeFileSync(other, await cifarTarball(makeCifarBatches(1), true, "data_batch_3.bin"));
  await assert.rejects(readCifar10Tarball(other), { name: "DataError", message: `${other}: missing cifar-10-batches-bin/data_batch_3.bin (is this the binary version of CIFAR-10?)` });
  const notGz = join(dir, "junk.tar.gz");
  writeFileSync(notGz, Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]));
  await assert.rejects(readCifar10Tarball(notGz), (e: unknown) => e instanceof DataError && e.message.includes(notGz));
});
