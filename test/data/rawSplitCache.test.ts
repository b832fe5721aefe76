import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { rawSplitCachePath, readRawSplitCache, writeRawSplitCache } from "../../src/data/rawSplitCache.js";
import { pseudoRandomBytes, tempDir } from "./fixtures.js";

test("a cache file round-trips and leaves no temporary file", async () => {
  const dir = tempDir();
  const path = rawSplitCachePath(dir, "cifar10", "source A");
  assert.notEqual(path, rawSplitCachePath(dir, "cifar10", "source B"));
  assert.equal(await readRawSplitCache(path), undefined);
  const splits = {
    train: { x: pseudoRandomBytes(5 * 12, 1), y: Uint8Array.of(1, 2, 3, 4, 5), n: 5 },
    test: { x: pseudoRandomBytes(2 * 12, 2), y: Uint8Array.of(9, 0), n: 2 },
  };
  await writeRawSplitCache(path, splits);
  assert.deepEqual(readdirSync(dirname(path)), [path.split("/").pop()]);
  const back = await readRawSplitCache(path);
  assert.ok(back);
  assert.deepEqual(back.train, splits.train);
  assert.deepEqual(back.test, splits.test);
});

test("a damaged cache file reads as missing", async () => {
  const path = rawSplitCachePath(tempDir(), "cifar10", "x");
  await writeRawSplitCache(path, { train: { x: new Uint8Array(12), y: new Uint8Array(1), n: 1 }, test: { x: new Uint8Array(12), y: new Uint8Array(1), n: 1 } });
  writeFileSync(path, Buffer.from("DYNAMOE-RAWSPLIT and then garbage"));
  assert.equal(await readRawSplitCache(path), undefined);
});
