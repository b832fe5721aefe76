import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import { readTokenCache, tokenCachePath, writeTokenCache } from "../../../src/data/text/tokenCache.js";
import { tempDir } from "../fixtures.js";

const key = (b: number) => new Uint8Array(32).fill(b);

test("a token file round-trips, little-endian after a 96-byte header, and leaves no temporary file", async () => {
  const path = tokenCachePath(tempDir(), "gpt2", key(1));
  assert.notEqual(path, tokenCachePath(tempDir(), "gpt2", key(2)));
  assert.equal(await readTokenCache(path, key(1)), undefined);
  const tokens = Uint16Array.of(15496, 995, 50256, 0, 65535);
  await writeTokenCache(path, key(1), tokens);
  assert.deepEqual(readdirSync(dirname(path)), [path.split("/").pop()]);
  const bytes = readFileSync(path);
  assert.equal(bytes.length, 96 + 2 * tokens.length);
  assert.equal(bytes.readUInt16LE(96), 15496);
  assert.deepEqual(await readTokenCache(path, key(1)), tokens);
  assert.deepEqual(await readTokenCache(path, new Uint8Array(0)), undefined);
  assert.equal(await readTokenCache(path, key(2)), undefined, "another key");
});

test("truncated, bit-flipped or foreign files read as missing", async () => {
  const path = tokenCachePath(tempDir(), "gpt2", key(1));
  await writeTokenCache(path, key(1), Uint16Array.of(1, 2, 3, 4));
  const good = readFileSync(path);
  writeFileSync(path, good.subarray(0, good.length - 1));
  assert.equal(await readTokenCache(path, key(1)), undefined, "truncated");
  const flipped = Buffer.from(good);
  flipped[100] ^= 1;
  writeFileSync(path, flipped);
  assert.equal(await readTokenCache(path, key(1)), undefined, "bit flip");
  writeFileSync(path, Buffer.from("DYNAMOE-RAWSPLIT and then garbage"));
  assert.equal(await readTokenCache(path, key(1)), undefined, "foreign");
  writeFileSync(path, good);
  assert.deepEqual(await readTokenCache(path, key(1)), Uint16Array.of(1, 2, 3, 4));
});
