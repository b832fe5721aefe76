/**
 * jax-js's counter-based PRNG on the host, bit for bit: Threefry-2x32 (20 rounds; Salmon et al. 2011,
 * "Parallel random numbers: as easy as 1, 2, 3") and the three draws built on it the way jax-js
 * 0.1.25 builds them. A key is two uint32 words `[k0, k1]`; element i of a draw of n comes from
 * counter `(0, i)`.
 *
 *   split(key, n)[j]   = threefry(key, 0, j)                      (both output words)
 *   bits(key, n)[i]    = x0 ⊕ x1 of threefry(key, 0, i)
 *   uniform(key, n)[i] = float32 with exponent 0 and the top 23 bits as mantissa, minus 1: [0, 1)
 *   normal(key, n)     = Box–Muller: √(−2 log(1 − u1)) · cos(2π u2), u1, u2 uniform from split(key, 2)
 *
 * Why: the native engine (`src/steps/nativeImageStep.ts`, via `src/moe/drawSchedule.ts`) draws router noise every step, and a jax-js call costs about
 * 2 ms for what is 10 µs of arithmetic here; splitting the training loop's key costs another 1 ms.
 * Splits and uniform draws are exact; normal draws agree to float32 rounding (jax-js computes
 * log1p and cos in float32). `test/engine/hostRandom.test.ts` holds all four against jax-js.
 */

export type HostKey = readonly [number, number];

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

/** The rotation of each of the 20 rounds: the two sets of four alternate every four rounds. */
const ROT = Int32Array.of(13, 15, 26, 6, 17, 29, 16, 24);
const out2: [number, number] = [0, 0];

/**
 * Threefry-2x32, 20 rounds, on counter (c0, c1) with key (k0, k1); both words of the output, in
 * an array that the next call overwrites (the draws below call it once per element).
 */
function threefryInto(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks0 = k0 >>> 0, ks1 = k1 >>> 0, ks2 = (k0 ^ k1 ^ 0x1bd11bda) >>> 0;
  let x0 = (c0 + ks0) >>> 0;
  let x1 = (c1 + ks1) >>> 0;
  for (let group = 0; group < 5; group++) {
    const base = (group & 1) * 4;
    for (let r = 0; r < 4; r++) {
      x0 = (x0 + x1) >>> 0;
      x1 = (rotl(x1, ROT[base + r]) ^ x0) >>> 0;
    }
    // Key injection after every 4 rounds: words s and s + 1 of the schedule (mod 3), plus s.
    const s = group + 1;
    const inject0 = s % 3 === 0 ? ks0 : s % 3 === 1 ? ks1 : ks2;
    const inject1 = (s + 1) % 3 === 0 ? ks0 : (s + 1) % 3 === 1 ? ks1 : ks2;
    x0 = (x0 + inject0) >>> 0;
    x1 = (x1 + inject1 + s) >>> 0;
  }
  out2[0] = x0;
  out2[1] = x1;
  return out2;
}

/** Threefry-2x32, 20 rounds, on counter (c0, c1) with key (k0, k1); both words of the output. */
export function threefry2x32(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const [x0, x1] = threefryInto(k0, k1, c0, c1);
  return [x0, x1];
}

/** `random.split(key, n)`: n new keys. */
export function hostSplit(key: HostKey, n: number): HostKey[] {
  return Array.from({ length: n }, (_, j) => threefry2x32(key[0], key[1], 0, j));
}

/**
 * `x0 ⊕ x1` of Threefry-2x32 on counters (0, 0) … (0, n − 1) into `out` (as int32 bit patterns):
 * `threefryInto` unrolled, with its rotations and key schedule as constants and int32 arithmetic,
 * about ten times faster in V8 (the uniform draws of a router's input jitter are [T, d] a layer).
 */
function bitsInto(key: HostKey, n: number, out: Int32Array): void {
  const ks0 = key[0] | 0, ks1 = key[1] | 0, ks2 = (key[0] ^ key[1] ^ 0x1bd11bda) | 0;
  for (let i = 0; i < n; i++) {
    let x0 = ks0;
    let x1 = (i + ks1) | 0;
    // Rounds 1–4 (rotations 13, 15, 26, 6), then the key words s = 1: ks1, ks2 + 1.
    x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + ks1) | 0; x1 = (x1 + ks2 + 1) | 0;
    // Rounds 5–8 (17, 29, 16, 24); s = 2: ks2, ks0 + 2.
    x0 = (x0 + x1) | 0; x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + ks2) | 0; x1 = (x1 + ks0 + 2) | 0;
    // Rounds 9–12; s = 3: ks0, ks1 + 3.
    x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + ks0) | 0; x1 = (x1 + ks1 + 3) | 0;
    // Rounds 13–16; s = 4: ks1, ks2 + 4.
    x0 = (x0 + x1) | 0; x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + ks1) | 0; x1 = (x1 + ks2 + 4) | 0;
    // Rounds 17–20; s = 5: ks2, ks0 + 5.
    x0 = (x0 + x1) | 0; x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0; x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + ks2) | 0; x1 = (x1 + ks0 + 5) | 0;
    out[i] = x0 ^ x1;
  }
}

/** `random.bits(key, [n])`. */
export function hostBits(key: HostKey, n: number): Uint32Array {
  const out = new Uint32Array(n);
  bitsInto(key, n, new Int32Array(out.buffer));
  return out;
}

/** `random.uniform(key, [n], { minval, maxval })`, float32. */
export function hostUniform(key: HostKey, n: number, minval = 0, maxval = 1): Float32Array {
  const asFloat = new Float32Array(n);
  const bits = new Int32Array(asFloat.buffer);
  bitsInto(key, n, bits);
  for (let i = 0; i < n; i++) bits[i] = (bits[i] >>> 9) | 0x3f800000; // [1, 2)
  const f = Math.fround;
  const span = f(maxval - minval);
  if (minval === 0 && maxval === 1) for (let i = 0; i < n; i++) asFloat[i] = asFloat[i] - 1; // exact in float32
  else for (let i = 0; i < n; i++) asFloat[i] = f(f((asFloat[i] - 1) * span) + f(minval));
  return asFloat;
}

/** `random.normal(key, [n])`, float32 (Box–Muller on two uniform draws, as jax-js). */
export function hostNormal(key: HostKey, n: number): Float32Array {
  const out = new Float32Array(n);
  hostNormalInto(key, out, new Float32Array(n), 1);
  return out;
}

/**
 * `σ · random.normal(key, [out.length])` into `out`, `u2` (as long) its scratch: u1 and u2 are the
 * uniform draws of the key's two splits, filled by `uniformInto` (by default `hostUniform`; the
 * native engine passes its kernel, the same bits), then `σ · √(−2 log(1 − u1)) · cos(2π u2)` in
 * place, each step rounded to float32 as jax-js rounds it.
 */
export function hostNormalInto(
  key: HostKey, out: Float32Array, u2: Float32Array, sigma: number,
  uniformInto: (key: HostKey, out: Float32Array) => void = (k, o) => o.set(hostUniform(k, o.length)),
): void {
  const [k1, k2] = hostSplit(key, 2);
  uniformInto(k1, out);
  uniformInto(k2, u2);
  const f = Math.fround;
  const s = f(sigma), twoPi = f(2 * Math.PI);
  for (let i = 0; i < out.length; i++) {
    const z = f(f(Math.sqrt(f(Math.log1p(-out[i]) * -2))) * f(Math.cos(f(u2[i] * twoPi))));
    out[i] = s === 1 ? z : f(z * s);
  }
}
