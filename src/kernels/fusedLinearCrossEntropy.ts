/**
 * The tied LM head's cross-entropy and gradients on our own WebAssembly SIMD kernel
 * (`linearCrossEntropy.c`), for the CPU: the same contract as the jax-js version in
 * `models/lmHead.ts`, which stays as the reference and the WebGPU path.
 *
 *   z = h Eᵀ,  ℓ_t = logsumexp(z_t) − z_t[y_t],  ∂L/∂h = s · G E,  ∂L/∂E = s · Gᵀ h,  G = softmax(z) − onehot(y)
 *
 * Tokens go through in chunks of `chunk` (rounded up to a multiple of 8, padded with zero rows whose
 * gradient is 0). The table is copied into the kernel's memory once per call, `∂L/∂E` is
 * accumulated there over all chunks, and the results come back as new jax-js arrays. Losses are
 * `log S + m − z[y]` taken in f64 from the kernel's f64 sums.
 */
import { numpy as np } from "../engine/jax.js";
import { sourceSha256, wasmBase64 } from "./linearCrossEntropyWasm.js";

type Exports = {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  forward(E: number, V: number, d: number, hT: number, y: number, C: number, z: number, m: number, S: number, picked: number): void;
  backward(
    E: number, V: number, d: number, h: number, y: number, C: number, cValid: number, s: number,
    z: number, S: number, w: number, dh: number, dE: number,
  ): void;
};

let kernel: Exports | undefined;

/** The kernel instance (one per thread, compiled on first use). */
function instance(): Exports {
  if (!kernel) {
    const module = new WebAssembly.Module(Buffer.from(wasmBase64, "base64"));
    kernel = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  }
  return kernel;
}

/** The SHA-256 of the C source the embedded binary was built from. */
export const kernelSourceSha256 = sourceSha256;

/** Whether the kernel handles width `d` (its micro-kernels need `d % 8 == 0`). */
export function fusedHeadSupports(d: number): boolean {
  return d % 8 === 0 && d > 0;
}

/** Byte offsets of the kernel's buffers, 16-byte aligned, for vocabulary V, width d and chunk C. */
function layout(base: number, v: number, d: number, c: number) {
  let at = Math.ceil(base / 16) * 16;
  const take = (bytes: number) => {
    const start = at;
    at += Math.ceil(bytes / 16) * 16;
    return start;
  };
  const f = 4;
  const offsets = {
    E: take(v * d * f), dE: take(v * d * f), z: take(v * c * f), hT: take(d * c * f), h: take(c * d * f),
    y: take(c * 4), m: take(c * f), S: take(c * 8), picked: take(c * f), w: take(c * f), dh: take(c * d * f),
  };
  return { ...offsets, end: at };
}

export type FusedHeadResult = {
  /** `[T]` per-token cross-entropy (natural log). */
  losses: Float32Array;
  /** `[T]` 1 where the target's logit is the maximum, else 0. */
  correct: Float32Array;
  /** `[T, d]` `s · G E`, when `grad`. */
  dHidden?: Float32Array;
  /** `[V, d]` `s · Gᵀ h`, when `grad`. */
  dTable?: Float32Array;
};

/**
 * The head on host arrays.
 * @param table `[V, d]` row-major token embedding.
 * @param hidden `[T, d]` row-major final hidden states.
 * @param targets `[T]` next-token ids in `[0, V)`.
 */
export function fusedHeadOnHost(
  table: Float32Array, v: number, d: number, hidden: Float32Array, targets: Int32Array,
  opts: { chunk?: number; grad?: boolean; scale?: number } = {},
): FusedHeadResult {
  if (!fusedHeadSupports(d)) throw new Error(`fused head: width ${d} is not a multiple of 8`);
  const t = targets.length;
  if (table.length !== v * d || hidden.length !== t * d) throw new Error(`fused head: shapes [${v}, ${d}] and [${t}, ${d}] do not match their data`);
  const c = Math.ceil(Math.min(opts.chunk ?? 64, t) / 8) * 8;
  const scale = opts.scale ?? 1 / t;
  const k = instance();
  const at = layout(k.__heap_base.value as number, v, d, c);
  const need = at.end - k.memory.buffer.byteLength;
  if (need > 0) k.memory.grow(Math.ceil(need / 65536));
  const buf = k.memory.buffer;
  const f32 = (offset: number, n: number) => new Float32Array(buf, offset, n);
  f32(at.E, v * d).set(table);
  if (opts.grad) f32(at.dE, v * d).fill(0);
  const hT = f32(at.hT, d * c), h = f32(at.h, c * d), y = new Int32Array(buf, at.y, c);
  const m = f32(at.m, c), sums = new Float64Array(buf, at.S, c), picked = f32(at.picked, c), dh = f32(at.dh, c * d);
  const losses = new Float32Array(t), correct = new Float32Array(t);
  const dHidden = opts.grad ? new Float32Array(t * d) : undefined;
  for (let s = 0; s < t; s += c) {
    const n = Math.min(c, t - s);
    h.fill(0);
    h.set(hidden.subarray(s * d, (s + n) * d));
    y.fill(0);
    for (let i = 0; i < n; i++) {
      const id = targets[s + i];
      if (!(id >= 0 && id < v)) throw new Error(`fused head: target ${id} outside the vocabulary [0, ${v})`);
      y[i] = id;
    }
    for (let i = 0; i < c; i++) for (let j = 0; j < d; j++) hT[j * c + i] = h[i * d + j];
    k.forward(at.E, v, d, at.hT, at.y, c, at.z, at.m, at.S, at.picked);
    for (let i = 0; i < n; i++) {
      losses[s + i] = Math.log(sums[i]) + m[i] - picked[i];
      correct[s + i] = picked[i] >= m[i] ? 1 : 0;
    }
    if (dHidden) {
      k.backward(at.E, v, d, at.h, at.y, c, n, scale, at.z, at.S, at.w, at.dh, at.dE);
      dHidden.set(dh.subarray(0, n * d), s * d);
    }
  }
  return { losses, correct, dHidden, dTable: opts.grad ? f32(at.dE, v * d).slice() : undefined };
}

/**
 * The head on jax-js arrays, the `linearCrossEntropy` contract (see `models/lmHead.ts`).
 * @param table `[V, d]`; not consumed. @param hidden `[T, d]`; consumed. @param targets `[T]` int32; consumed.
 */
export async function fusedLinearCrossEntropy(
  table: np.Array, hidden: np.Array, targets: np.Array,
  opts: { chunk?: number; grad?: boolean; scale?: number; dTableInto?: np.Array } = {},
): Promise<{ losses: np.Array; correct: np.Array; dHidden?: np.Array; dTable?: np.Array }> {
  const [t, d] = hidden.shape;
  const v = table.shape[0];
  const [tab, hid, tgt] = await Promise.all([table.ref.data(), hidden.data(), targets.data()]);
  const out = fusedHeadOnHost(tab as Float32Array, v, d, hid as Float32Array, Int32Array.from(tgt as ArrayLike<number>), opts);
  const result: { losses: np.Array; correct: np.Array; dHidden?: np.Array; dTable?: np.Array } = {
    losses: np.array(out.losses),
    correct: np.array(out.correct),
  };
  if (opts.grad) {
    result.dHidden = np.array(out.dHidden!).reshape([t, d]);
    const dTable = np.array(out.dTable!).reshape([v, d]);
    result.dTable = opts.dTableInto ? opts.dTableInto.add(dTable) : dTable;
  } else {
    opts.dTableInto?.dispose();
  }
  return result;
}
