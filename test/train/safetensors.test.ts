import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { decodeSafetensors, encodeSafetensors } from "../../src/train/safetensors.js";

test("safetensors round-trips tensors and metadata, with the documented header layout", () => {
  const tensors = {
    "params.w": { dtype: "F32" as const, shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) },
    "rng.key": { dtype: "U32" as const, shape: [2], data: new Uint32Array([0, 4294967295]) },
  };
  const buf = encodeSafetensors(tensors, { step: "12" });
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
  assert.deepEqual(header["params.w"], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header["rng.key"], { dtype: "U32", shape: [2], data_offsets: [24, 32] });
  assert.equal((8 + headerLen) % 8, 0, "data is 8-byte aligned");
  const back = decodeSafetensors(buf);
  assert.deepEqual(back.metadata, { step: "12" });
  assert.deepEqual(Array.from(back.tensors["params.w"].data), [1, 2, 3, 4, 5, -6.5]);
  assert.deepEqual(Array.from(back.tensors["rng.key"].data), [0, 4294967295]);
});

test("a truncated or corrupt file is a one-line UserError naming the file", () => {
  const buf = encodeSafetensors({ a: { dtype: "F32", shape: [4], data: new Float32Array(4) } });
  for (const bad of [buf.subarray(0, 4), buf.subarray(0, buf.length - 3), Buffer.concat([Buffer.from([255, 0, 0, 0, 0, 0, 0, 0]), buf.subarray(8)])]) {
    assert.throws(
      () => decodeSafetensors(bad, "run/checkpoint.safetensors"),
      (e: Error) => e instanceof UserError && e.message.startsWith("run/checkpoint.safetensors: corrupt") && !e.message.includes("\n"),
    );
  }
});
