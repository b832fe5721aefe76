/**
 * Standard per-channel normalisation of 8-bit images: `x = (pixel / 255 - mean[c]) / std[c]`, with
 * the usual statistics of each dataset's training split.
 */
import type { ChannelStats, ImageSplit } from "./types.js";

/** One split as decoded from disk, before normalisation. */
export type RawImageSplit = {
  /** `[n * h * w * c]` pixels 0..255, row-major, channels last (HWC). */
  x: Uint8Array;
  /** `[n]` class labels. */
  y: Uint8Array;
  /** Number of examples. */
  n: number;
};

export type { ChannelStats } from "./types.js";

/** MNIST training-set statistics. */
export const MNIST_STATS: ChannelStats = { mean: [0.1307], std: [0.3081] };
/** Fashion-MNIST training-set statistics. */
export const FASHION_MNIST_STATS: ChannelStats = { mean: [0.286], std: [0.353] };
/** CIFAR-10 training-set statistics, channels (R, G, B). */
export const CIFAR10_STATS: ChannelStats = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/**
 * Normalise channels-last 8-bit pixels to float32: `out[i] = (pixels[i] / 255 - mean[c]) / std[c]`
 * with `c = i % channels`. `pixels`: `[..., channels]`; returns a new `Float32Array` of the same length.
 */
export function normalizePixels(pixels: Uint8Array, stats: ChannelStats): Float32Array {
  const channels = stats.mean.length;
  if (stats.std.length !== channels) throw new Error("normalizePixels: mean and std lengths differ");
  if (pixels.length % channels !== 0) throw new Error(`normalizePixels: ${pixels.length} values is not a multiple of ${channels} channels`);
  // One 256-entry lookup table per channel: a table read is much faster than the arithmetic.
  const lut = new Float32Array(256 * channels); // [channel, value]
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - stats.mean[c]) / stats.std[c];
  }
  const out = new Float32Array(pixels.length);
  if (channels === 1) {
    for (let i = 0; i < pixels.length; i++) out[i] = lut[pixels[i]];
  } else if (channels === 3) {
    for (let i = 0; i < pixels.length; i += 3) {
      out[i] = lut[pixels[i]];
      out[i + 1] = lut[256 + pixels[i + 1]];
      out[i + 2] = lut[512 + pixels[i + 2]];
    }
  } else {
    for (let i = 0; i < pixels.length; i++) out[i] = lut[(i % channels) * 256 + pixels[i]];
  }
  return out;
}

/** Normalise one split's pixels (see `normalizePixels`); labels are shared, not copied. */
export function normalizeSplit(raw: RawImageSplit, stats: ChannelStats): ImageSplit {
  return { x: normalizePixels(raw.x, stats), y: raw.y, n: raw.n };
}

/** Per-channel mean and std of channels-last 8-bit pixels scaled to [0, 1]. */
export function channelStats(x: Uint8Array, channels: number): ChannelStats {
  const sum = new Float64Array(channels), sq = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] / 255;
    sum[i % channels] += v;
    sq[i % channels] += v * v;
  }
  const n = x.length / channels;
  const mean = [...sum].map((s) => s / n);
  const std = [...sq].map((s, c) => Math.max(Math.sqrt(Math.max(s / n - mean[c] ** 2, 0)), 1e-3));
  return { mean, std };
}
