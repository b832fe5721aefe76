import assert from "node:assert/strict";
import { test } from "node:test";
import { UserError } from "../../src/errors.js";
import { decodeAnySafetensors, decodeSafetensors, encodeSafetensors, type AnySafeTensor } from "../../src/io/safetensors.js";

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

test("every dtype with a typed array round-trips through decodeAnySafetensors; decodeSafetensors keeps to dynamoe's own", () => {
  const tensors: Record<string, AnySafeTensor> = {
    f64: { dtype: "F64", shape: [2], data: new Float64Array([0.1, -1e300]) },
    i64: { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n]) },
    u64: { dtype: "U64", shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    i16: { dtype: "I16", shape: [1, 2], data: new Int16Array([-32768, 32767]) },
    u16: { dtype: "U16", shape: [1], data: new Uint16Array([65535]) },
    i8: { dtype: "I8", shape: [3], data: new Int8Array([-128, 0, 127]) },
    u8: { dtype: "U8", shape: [3], data: new Uint8Array([0, 1, 255]) },
  };
  const buf = encodeSafetensors(tensors);
  assert.deepEqual(decodeAnySafetensors(buf, "x.safetensors").tensors, tensors);
  assert.throws(() => decodeSafetensors(buf, "x.safetensors"), (e: Error) => e instanceof UserError && /^x\.safetensors: tensor f64 has unsupported dtype F64 \(read: F32, I32, U32, U8\)$/.test(e.message));
});
