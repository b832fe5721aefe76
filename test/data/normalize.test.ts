import assert from "node:assert/strict";
import { test } from "node:test";
import { CIFAR10_STATS, FASHION_MNIST_STATS, MNIST_STATS, normalizePixels, normalizeSplit } from "../../src/data/normalize.js";
import { pseudoRandomBytes } from "./fixtures.js";

test("the standard statistics", () => {
  assert.deepEqual(MNIST_STATS, { mean: [0.1307], std: [0.3081] });
  assert.deepEqual(FASHION_MNIST_STATS, { mean: [0.286], std: [0.353] });
  assert.deepEqual(CIFAR10_STATS, { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] });
});

test("normalizePixels matches (p / 255 - mean[c]) / std[c] channels last", () => {
  const stats = [MNIST_STATS, CIFAR10_STATS, { mean: [0.1, 0.2, 0.3, 0.4], std: [1, 2, 3, 4] }];
  for (const s of stats) {
    const channels = s.mean.length;
    const pixels = pseudoRandomBytes(channels * 50, channels);
    const got = normalizePixels(pixels, s);
    assert.ok(got instanceof Float32Array);
    assert.equal(got.length, pixels.length);
    for (let i = 0; i < pixels.length; i++) {
      const c = i % channels;
      const want = Math.fround((pixels[i] / 255 - s.mean[c]) / s.std[c]);
      assert.equal(got[i], want, `index ${i}`);
    }
  }
});

test("normalizeSplit keeps labels and count", () => {
  const raw = { x: Uint8Array.of(0, 255), y: Uint8Array.of(3, 4), n: 2 };
  const split = normalizeSplit(raw, MNIST_STATS);
  assert.equal(split.n, 2);
  assert.equal(split.y, raw.y);
  assert.ok(Math.abs(split.x[0] - -0.1307 / 0.3081) < 1e-6);
  assert.ok(Math.abs(split.x[1] - (1 - 0.1307) / 0.3081) < 1e-6);
});
