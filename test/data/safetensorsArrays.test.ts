/**
 * `.safetensors` files of arrays, written by our own writer and by Python's `safetensors`, held
 * against the same arrays as a folder of `.npy` files.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadImageDataset } from "../../src/data/loadImageDataset.js";
import { loadNpyFolder, readNpy } from "../../src/data/npyArrays.js";
import { loadSafetensorsArrays } from "../../src/data/safetensorsArrays.js";
import type { ImageDataset } from "../../src/data/types.js";
import { encodeSafetensors, type AnySafeTensor } from "../../src/io/safetensors.js";
import { assertOneLineErrors, run } from "../cli/runCli.js";
import { bandsPython, pythonHas, runPython, tempDir } from "./fixtures.js";

const numpy = pythonHas("numpy");
const safetensors = numpy && pythonHas("safetensors");

const CLASSES = ["low", "middle", "high"];

/** Everything but the name and source equal: the same arrays, normalisation and class names. */
function assertSameData(actual: ImageDataset, expected: ImageDataset): void {
  const strip = ({ name: _n, source: _s, ...rest }: ImageDataset) => rest;
  assert.deepEqual(strip(actual), strip(expected));
}

/** The bands (`fixtures.ts`) as four `.npy` files written by NumPy, in `DIR/npy`; returns DIR. */
function writeNpyReference(channels: number): string {
  const dir = tempDir("dynamoe-safetensors-");
  mkdirSync(join(dir, "npy"));
  runPython(`${bandsPython(channels)}
for n, a in dict(x_train=xt, y_train=yt, x_test=xs, y_test=ys).items(): np.save(os.path.join(${JSON.stringify(dir)}, "npy", n + ".npy"), a)`);
  return dir;
}

/** The four arrays of an `.npy` folder as safetensors tensors (U8 images, I64 labels). */
function tensorsOf(root: string): Record<string, AnySafeTensor> {
  const t = (name: string, dtype: AnySafeTensor["dtype"]) => {
    const a = readNpy(join(root, `${name}.npy`));
    return { dtype, shape: a.shape, data: a.data } as AnySafeTensor;
  };
  return { x_train: t("x_train", "U8"), y_train: t("y_train", "I64"), x_test: t("x_test", "U8"), y_test: t("y_test", "I64") };
}

test("a .safetensors file from our writer loads as the same dataset as its arrays in .npy files", { skip: !numpy && "NumPy (python3-numpy) is not installed" }, () => {
  const dir = writeNpyReference(1);
  const reference = loadNpyFolder(join(dir, "npy"));
  const file = join(dir, "bands.safetensors");
  writeFileSync(file, encodeSafetensors(tensorsOf(join(dir, "npy")), { class_names: JSON.stringify(CLASSES) }));
  const d = loadSafetensorsArrays(file);
  assertSameData(d, { ...reference, classNames: CLASSES });
  assert.equal(d.name, "bands");
  assert.match(d.source, /\.safetensors arrays: x_train uint8 \[240,10,8\], x_test \[60,10,8\], normalised by the training split\)$/);
});

test("float32 features are used as given; labels of every integer dtype read; classes.txt beside the file names them", () => {
  const dir = tempDir("dynamoe-safetensors-");
  const x = Float32Array.from({ length: 6 * 5 }, (_, i) => Math.sin(i) * 3); // [6, 5]
  const labels = [0, 1, 2, 1, 0, 2];
  writeFileSync(join(dir, "classes.txt"), CLASSES.join("\n"));
  const arrays: [AnySafeTensor["dtype"], AnySafeTensor["data"]][] = [
    ["U8", Uint8Array.from(labels)],
    ["I8", Int8Array.from(labels)],
    ["U16", Uint16Array.from(labels)],
    ["I16", Int16Array.from(labels)],
    ["U32", Uint32Array.from(labels)],
    ["I32", Int32Array.from(labels)],
    ["I64", BigInt64Array.from(labels.map(BigInt))],
    ["U64", BigUint64Array.from(labels.map(BigInt))],
  ];
  for (const [dtype, y] of arrays) {
    const file = join(dir, `feats-${dtype}.safetensors`);
    const split = (rows: number) => ({ x: { dtype: "F32", shape: [rows, 5], data: x.slice(0, rows * 5) }, y: { dtype, shape: [rows], data: y.slice(0, rows) } }) as { x: AnySafeTensor; y: AnySafeTensor };
    writeFileSync(file, encodeSafetensors({ x_train: split(6).x, y_train: split(6).y, x_test: split(3).x, y_test: split(3).y }));
    const d = loadSafetensorsArrays(file);
    assert.deepEqual([d.train.x, [...d.train.y], [...d.test.y], d.classNames, d.inputDim, d.stats, d.shape], [x, labels, labels.slice(0, 3), CLASSES, 5, undefined, undefined], dtype);
  }
});

test("a .safetensors file from Python's safetensors.numpy.save_file loads as the same dataset", { skip: !safetensors && "Python's safetensors module is not installed (pip install safetensors); only our own writer's files are tested" }, () => {
  const dir = writeNpyReference(3);
  runPython(`${bandsPython(3)}
import json
from safetensors.numpy import save_file
save_file(dict(x_train=xt, y_train=yt, x_test=xs, y_test=ys), ${JSON.stringify(join(dir, "python.safetensors"))}, metadata={"class_names": json.dumps(${JSON.stringify(CLASSES)})})`);
  assertSameData(loadSafetensorsArrays(join(dir, "python.safetensors")), { ...loadNpyFolder(join(dir, "npy")), classNames: CLASSES });
});

test("mistakes in a .safetensors file are one DataError line naming the file and what is wrong", async () => {
  const dir = tempDir("dynamoe-safetensors-");
  const px = (rows: number): AnySafeTensor => ({ dtype: "U8", shape: [rows, 2, 2], data: Uint8Array.from({ length: rows * 4 }, (_, i) => i % 256) });
  const lab = (rows: number): AnySafeTensor => ({ dtype: "I64", shape: [rows], data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i % 2)) });
  const good = { x_train: px(4), y_train: lab(4), x_test: px(2), y_test: lab(2) };
  const files: Record<string, Buffer> = {
    "no-test-images": encodeSafetensors({ x_train: px(4), y_train: lab(4), y_test: lab(2) }),
    "float64": encodeSafetensors({ ...good, x_train: { dtype: "F64", shape: [4, 4], data: new Float64Array(16) }, x_test: { dtype: "F64", shape: [2, 4], data: new Float64Array(8) } }),
    "float-labels": encodeSafetensors({ ...good, y_test: { dtype: "F32", shape: [2], data: new Float32Array(2) } }),
    "short": encodeSafetensors({ ...good, y_train: lab(3) }),
    "bad-names": encodeSafetensors(good, { class_names: "low, high" }),
    "corrupt": encodeSafetensors(good).subarray(0, 40),
  };
  // F16 has no typed array: relabel x_train's 16 bytes as 8 F16 values, keeping the header's length.
  files.f16 = Buffer.from(encodeSafetensors(good).toString("latin1").replace('"dtype":"U8","shape":[4,2,2]', '"dtype":"F16","shape":[4, 2]'), "latin1");
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, `${name}.safetensors`), bytes);
  const cases: [string, RegExp][] = [
    ["no-test-images", /no-test-images\.safetensors: no x_test tensor \(it holds x_train, y_test, y_train\); save with save_file\(/],
    ["float64", /float64\.safetensors \(x_train\): float64; images must be uint8 pixels or float32 features$/],
    ["float-labels", /float-labels\.safetensors \(y_test\): labels must be integers, not float32$/],
    ["short", /short\.safetensors \(y_train\): shape \[3\], expected \[4\] labels$/],
    ["bad-names", /bad-names\.safetensors \(metadata class_names\): not a JSON list of strings/],
    ["corrupt", /corrupt\.safetensors: corrupt safetensors file \(header of \d+ bytes runs past the end of the file\)$/],
    ["f16", /f16\.safetensors: tensor x_train has unsupported dtype F16 \(read: F64, F32, I64, I32, I16, I8, U64, U32, U16, U8\)$/],
    ["missing", /missing\.safetensors: file not found$/],
  ];
  for (const [name, pattern] of cases) {
    await assert.rejects(loadImageDataset(join(dir, `${name}.safetensors`)), (e: Error) => e.name === "DataError" && pattern.test(e.message) && !e.message.includes("\n"), name);
  }
  assertOneLineErrors([[["train", "--data", join(dir, "float-labels.safetensors")], /^dynamoe: .*float-labels\.safetensors \(y_test\): labels must be integers, not float32$/]]);
});

test("dynamoe train --data FILE.safetensors trains and records the data in the run folder", () => {
  const dir = tempDir("dynamoe-safetensors-cli-");
  // Two classes: a bright top or a bright bottom half of 4×4 images; int64 labels as PyTorch saves them.
  const split = (n: number) => {
    const x = new Uint8Array(n * 16); // [n, 4, 4]
    const y = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2));
    for (let i = 0; i < n; i++) for (let p = 0; p < 16; p++) x[i * 16 + p] = (p < 8) === (i % 2 === 0) ? 200 + ((i + p) % 50) : (i * p) % 40;
    return { x: { dtype: "U8", shape: [n, 4, 4], data: x } as AnySafeTensor, y: { dtype: "I64", shape: [n], data: y } as AnySafeTensor };
  };
  const [tr, te] = [split(64), split(32)];
  const file = join(dir, "halves.safetensors");
  writeFileSync(file, encodeSafetensors({ x_train: tr.x, y_train: tr.y, x_test: te.x, y_test: te.y }, { classes: JSON.stringify(["top", "bottom"]) }));
  const out = join(dir, "run");
  const t = run(["train", "--data", file, "--model", "dense", "--set", "d=8", "--set", "h=8", "--set", "layers=1", "--batch-size", "16", "--epochs", "2", "--validation", "0", "--out", out]);
  assert.equal(t.code, 0, t.stderr);
  const data = JSON.parse(readFileSync(join(out, "data.json"), "utf8"));
  assert.deepEqual([data.name, data.classNames, data.shape], ["halves", ["top", "bottom"], [4, 4, 1]]);
});
