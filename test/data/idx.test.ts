import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { parseIdx, readIdx } from "../../src/data/idx.js";
import { DataError } from "../../src/data/types.js";
import { idxBytes, pseudoRandomBytes, tempDir } from "./fixtures.js";

/** Assert a DataError with a one-line message that names `file` and matches `pattern`. */
async function rejectsWith(fn: () => unknown, file: string, pattern: RegExp) {
  await assert.rejects(async () => fn(), (err: unknown) => {
    assert.ok(err instanceof DataError, `expected DataError, got ${String(err)}`);
    assert.ok(!err.message.includes("\n"), `message is not one line: ${JSON.stringify(err.message)}`);
    assert.ok(err.message.includes(file), `message does not name ${file}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

const dims = [3, 4, 5];
const data = pseudoRandomBytes(60, 7);

test("parseIdx reads dims and data of raw and gzipped bytes", () => {
  for (const bytes of [idxBytes(dims, data), gzipSync(idxBytes(dims, data))]) {
    const idx = parseIdx(bytes, "a.idx");
    assert.deepEqual(idx.dims, dims);
    assert.deepEqual(Array.from(idx.data), Array.from(data));
  }
});

test("readIdx reads raw and .gz files from disk", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "x-idx3-ubyte"), idxBytes(dims, data));
  writeFileSync(join(dir, "x-idx3-ubyte.gz"), gzipSync(idxBytes(dims, data)));
  for (const f of ["x-idx3-ubyte", "x-idx3-ubyte.gz"]) {
    const idx = await readIdx(join(dir, f));
    assert.deepEqual(idx.dims, dims);
    assert.deepEqual(Array.from(idx.data), Array.from(data));
  }
  writeFileSync(join(dir, "l-idx1-ubyte"), idxBytes([4], Uint8Array.of(1, 2, 3, 9)));
  const labels = await readIdx(join(dir, "l-idx1-ubyte"));
  assert.deepEqual(labels.dims, [4]);
  assert.deepEqual(Array.from(labels.data), [1, 2, 3, 9]);
});

test("truncated files are a one-line DataError naming the file and the sizes", async () => {
  const dir = tempDir();
  const full = idxBytes([10, 28, 28], pseudoRandomBytes(7840));
  const raw = join(dir, "train-images-idx3-ubyte");
  const gz = join(dir, "train-images-idx3-ubyte.gz");
  writeFileSync(raw, full.subarray(0, 1000 + 16));
  writeFileSync(gz, gzipSync(full.subarray(0, 1000 + 16)));
  await rejectsWith(() => readIdx(raw), raw, /truncated IDX file \(expected 7840 bytes of data, found 1000\)/);
  await rejectsWith(() => readIdx(gz), gz, /truncated IDX file \(expected 7840 bytes of data, found 1000\)/);
  await rejectsWith(() => parseIdx(full.subarray(0, 10), "h.idx"), "h.idx", /truncated IDX file \(header needs 16 bytes, found 10\)/);
  await rejectsWith(() => parseIdx(full.subarray(0, 2), "t.idx"), "t.idx", /truncated/);
});

test("trailing bytes, bad magic and unsupported types are rejected", async () => {
  await rejectsWith(() => parseIdx(Buffer.concat([idxBytes(dims, data), Buffer.of(0)]), "long.idx"), "long.idx", /needs 60 bytes of data, found 61/);
  await rejectsWith(() => parseIdx(Buffer.from("PK\x03\x04 not an idx file"), "zip.idx"), "zip.idx", /bad magic number 50 4b 03 04/);
  await rejectsWith(() => parseIdx(Buffer.of(0, 0, 0x42, 1, 0, 0, 0, 0), "type.idx"), "type.idx", /unknown type code 0x42/);
  const floats = Buffer.of(0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0);
  await rejectsWith(() => parseIdx(floats, "float.idx"), "float.idx", /0x0d \(float32\) is not supported/);
});

test("corrupt and truncated gzip data are a one-line DataError", async () => {
  const dir = tempDir();
  const gz = gzipSync(idxBytes([100, 28, 28], pseudoRandomBytes(78400)));
  const cut = join(dir, "cut.gz");
  writeFileSync(cut, gz.subarray(0, gz.length >> 1));
  await rejectsWith(() => readIdx(cut), cut, /corrupt or truncated gzip data \(unexpected end of file\)/);
  const garbled = Buffer.from(gz);
  for (let i = 10; i < 60; i++) garbled[i] ^= 0xff;
  const bad = join(dir, "bad.gz");
  writeFileSync(bad, garbled);
  await rejectsWith(() => readIdx(bad), bad, /corrupt or truncated gzip data/);
  await rejectsWith(() => parseIdx(garbled, "bad-sync.gz"), "bad-sync.gz", /corrupt or truncated gzip data/);
});

test("a missing file is a DataError naming it", async () => {
  const path = join(tempDir(), "nope-idx1-ubyte");
  await rejectsWith(() => readIdx(path), path, /file not found/);
});
