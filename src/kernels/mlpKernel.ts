/**
 * The MLP kernel module (`src/kernels/mlp.c`) and a bump allocator over its memory. A native step
 * allocates every buffer it will ever use up front (shapes are static), then takes its typed views
 * once: growing a WebAssembly memory detaches the views taken before.
 *
 * The memory is shared (the module imports it), so `mlpPool` (parallelKernels.ts) can run the kernels on several threads;
 * each thread after the first gets a stack of `STACK_BYTES` from the arena.
 */
import { enableRelaxedSimd } from "../engine/preload.js";
import { sourceSha256, wasmBase64, wasmRelaxedBase64 } from "./mlpWasm.js";

/** The C exports; every pointer is a byte offset into `memory`. */
export type MlpExports = {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  __stack_pointer: WebAssembly.Global;
  /** Which build this instance runs. */
  variant: SimdVariant;
  matmul(rows: number, cols: number, depth: number, a: number, ai: number, ap: number, b: number, ldb: number, out: number, ldo: number, accumulate: number): void;
  matmul_t(rows: number, cols: number, depth: number, a: number, ai: number, ap: number, bt: number, ldbt: number, out: number, ldo: number, accumulate: number): void;
  add_bias(y: number, b: number, rows: number, cols: number): void;
  sum_rows(x: number, rows: number, cols: number, out: number): void;
  add(x: number, y: number, n: number): void;
  gelu_forward(x: number, y: number, n: number): void;
  gelu_backward(x: number, dy: number, dx: number, n: number): void;
  gelu_forward_t(x: number, y: number, t: number, n: number): void;
  gelu_backward_t(x: number, t: number, dy: number, dx: number, n: number): void;
  layernorm_forward(x: number, scale: number, bias: number, rows: number, d: number, eps: number, y: number, xhat: number, rstd: number): void;
  layernorm_backward(dy: number, xhat: number, rstd: number, scale: number, rows: number, d: number, dx: number, accumulate: number, dscale: number, dbias: number): void;
  gather_rows(src: number, d: number, idx: number, w: number, n: number, dst: number): void;
  scatter_add_rows(dst: number, d: number, idx: number, w: number, n: number, src: number): void;
  gathered_dots(a: number, d: number, idx: number, b: number, n: number, out: number): void;
  sum_squares(x: number, n: number): number;
  adamw(p: number, g: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number, eps: number, wd: number, c1: number, c2: number, gscale: number): void;
  zero(x: number, n: number): void;
  /** out = x ⊙ y over n floats, or (accumulate) out += x ⊙ y in float64, rounded once. */
  mul(x: number, y: number, out: number, n: number, accumulate: number): void;
  /** Elements [i0, i0 + n) of `hostUniform((k0, k1), ·, lo, lo + span)` into out (`threefry.c`). */
  threefry_uniform(k0: number, k1: number, i0: number, n: number, lo: number, span: number, out: number): void;
  /** The LM head (`lmHead.c`): vocabulary rows per block, blocks per group, and its two passes over blocks [b0, b1) / groups [g0, g1). */
  head_block_rows(): number;
  head_group_blocks(): number;
  head_stats(E: number, V: number, d: number, h: number, y: number, C: number, z: number, bmax: number, bsum: number, picked: number, b0: number, b1: number): void;
  head_grads(E: number, V: number, d: number, h: number, y: number, C: number, cValid: number, s: number, z: number, bmax: number, m: number, w: number, f: number, dE: number, dhParts: number, g0: number, g1: number): void;
  /** The core of causal self-attention (`attention.c`) for (sequence, head) pairs [p0, p1): qkv `[B·S, 3d]`, probs `[B, H, S, S]`, a `[B·S, d]`. */
  attention_forward(qkv: number, S: number, H: number, dh: number, scale: number, probs: number, a: number, p0: number, p1: number): void;
  /** Its backward pass: the pairs' slices of dqkv `[B·S, 3d]` from da `[B·S, d]`; scratch of S floats per pair. */
  attention_backward(qkv: number, probs: number, da: number, S: number, H: number, dh: number, scale: number, dqkv: number, scratch: number, p0: number, p1: number): void;
};

/** The SHA-256 of the C source (and simd.h) the embedded binary was built from. */
export const mlpKernelSourceSha256 = sourceSha256;

/** The two builds of the module: plain SIMD, and relaxed SIMD (fused multiply-add in the matmul tile). */
export const SIMD_VARIANTS = ["plain", "relaxed"] as const;
export type SimdVariant = (typeof SIMD_VARIANTS)[number];

/**
 * Whether this runtime runs relaxed SIMD. Node 20 has it behind a V8 flag, which `engine/preload.ts`
 * sets when the process starts (unless `DYNAMOE_SIMD=plain`); current browsers have it on.
 */
export function relaxedSimdAvailable(): boolean {
  enableRelaxedSimd();
  return WebAssembly.validate(base64Bytes(wasmRelaxedBase64));
}

/**
 * The variant this process runs: `DYNAMOE_SIMD=plain|relaxed` when set (relaxed where the runtime
 * lacks it is an error), else relaxed where available, else plain. Numbers differ between the two in
 * the last bits (a fused multiply-add rounds once); within one variant they do not depend on the
 * thread count.
 */
export function simdVariant(): SimdVariant {
  const asked = typeof process === "undefined" ? undefined : process.env.DYNAMOE_SIMD; // a page has no process: auto
  if (asked !== undefined && asked !== "" && asked !== "auto") {
    if (!(SIMD_VARIANTS as readonly string[]).includes(asked)) throw new Error(`DYNAMOE_SIMD must be plain, relaxed or auto, got "${asked}"`);
    if (asked === "relaxed" && !relaxedSimdAvailable()) throw new Error("DYNAMOE_SIMD=relaxed: this runtime does not run relaxed SIMD");
    return asked as SimdVariant;
  }
  return relaxedSimdAvailable() ? "relaxed" : "plain";
}

/** Bytes of base64 text, in Node and in a page alike (`atob`, not Node's `Buffer`). */
function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const compiled = new Map<SimdVariant, WebAssembly.Module>();

/** The compiled module of `variant` (compiled once per process). */
export function mlpModule(variant: SimdVariant = simdVariant()): WebAssembly.Module {
  let m = compiled.get(variant);
  if (!m) compiled.set(variant, (m = new WebAssembly.Module(base64Bytes(variant === "relaxed" ? wasmRelaxedBase64 : wasmBase64))));
  return m;
}

/** 64 KiB pages the module asks for at least (`--initial-memory` in scripts/build-kernels.sh), and at most (4 GiB). */
const MIN_PAGES = 16;
const MAX_PAGES = 65536;

/** A fresh instance with its own shared memory (one per native step, so steps never share buffers). */
export function mlpInstance(variant: SimdVariant = simdVariant()): MlpExports {
  const memory = new WebAssembly.Memory({ initial: MIN_PAGES, maximum: MAX_PAGES, shared: true });
  const { exports } = new WebAssembly.Instance(mlpModule(variant), { env: { memory } });
  return { ...exports, memory, variant } as unknown as MlpExports;
}

/** Stack of each pool thread after the first (the first uses the module's own, below `__heap_base`). */
export const STACK_BYTES = 64 * 1024;


/** A buffer in kernel memory: its byte offset and element count. */
export type Buf = { at: number; n: number };

/**
 * Allocates 16-byte-aligned buffers of float32 / int32 elements, then `commit()` grows the memory
 * once and returns views for reading and writing them from JavaScript.
 */
export class Arena {
  private next: number;
  private committed = false;
  constructor(readonly k: MlpExports) {
    this.next = Math.ceil((k.__heap_base.value as number) / 16) * 16;
  }
  /** A buffer of `n` 4-byte elements. */
  take(n: number): Buf {
    if (this.committed) throw new Error("Arena: take() after commit()");
    const at = this.next;
    this.next += Math.ceil((Math.max(n, 1) * 4) / 16) * 16;
    return { at, n };
  }
  /** Grow the memory to hold every buffer taken. */
  commit(): void {
    const need = this.next - this.k.memory.buffer.byteLength;
    if (need > 0) this.k.memory.grow(Math.ceil(need / 65536));
    this.committed = true;
  }
  f32(b: Buf): Float32Array {
    return new Float32Array(this.k.memory.buffer, b.at, b.n);
  }
  i32(b: Buf): Int32Array {
    return new Int32Array(this.k.memory.buffer, b.at, b.n);
  }
  /** Bytes in use. */
  get bytes(): number {
    return this.next;
  }
}
