/**
 * The attention core (`attention.c`) against a float64 loop: probabilities and attended values, and
 * the backward pass against central differences of that loop. Heads of 6 (a SIMD body and a tail of
 * two) and of 8, 7 positions (an exp tail); and any split of the pairs gives the same bytes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Arena, mlpInstance } from "../../src/kernels/mlpKernel.js";
import { assertAllClose, lcg } from "../helpers.js";

/** Float64 attention of `qkv` `[B·S, 3d]` (as `attention.ts`): probs `[B, H, S, S]` and a `[B·S, d]`. */
function reference(qkv: ArrayLike<number>, B: number, S: number, H: number, dh: number) {
  const d = H * dh, ld = 3 * d, scale = 1 / Math.sqrt(dh);
  const probs = new Float64Array(B * H * S * S), a = new Float64Array(B * S * d);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < S; i++) {
        const s: number[] = [];
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += qkv[(b * S + i) * ld + h * dh + c] * qkv[(b * S + j) * ld + d + h * dh + c];
          s.push(dot * scale + (j > i ? -1e9 : 0));
        }
        const mx = Math.max(...s);
        const e = s.map((x) => Math.exp(x - mx));
        const sum = e.reduce((x, y) => x + y, 0);
        for (let j = 0; j < S; j++) {
          const p = e[j] / sum;
          probs[((b * H + h) * S + i) * S + j] = p;
          for (let c = 0; c < dh; c++) a[(b * S + i) * d + h * dh + c] += p * qkv[(b * S + j) * ld + 2 * d + h * dh + c];
        }
      }
  return { probs, a };
}

function setupKernel(B: number, S: number, H: number, dh: number, seed: number) {
  const d = H * dh, pairs = B * H;
  const mem = new Arena(mlpInstance());
  const bufs = {
    qkv: mem.take(B * S * 3 * d), probs: mem.take(pairs * S * S), a: mem.take(B * S * d),
    da: mem.take(B * S * d), dqkv: mem.take(B * S * 3 * d), scratch: mem.take(pairs * S),
  };
  mem.commit();
  const r = lcg(seed);
  const qkv = Float32Array.from({ length: B * S * 3 * d }, () => (r() * 2 - 1) * 1.5);
  const da = Float32Array.from({ length: B * S * d }, () => r() * 2 - 1);
  mem.f32(bufs.qkv).set(qkv);
  mem.f32(bufs.da).set(da);
  const scale = Math.fround(1 / Math.sqrt(dh));
  /** Run both kernels over the pairs cut at `cuts`. */
  const run = (cuts: number[]) => {
    mem.f32(bufs.dqkv).fill(NaN); // every element must be written
    const edges = [0, ...cuts, pairs];
    for (let t = 0; t + 1 < edges.length; t++) mem.k.attention_forward(bufs.qkv.at, S, H, dh, scale, bufs.probs.at, bufs.a.at, edges[t], edges[t + 1]);
    for (let t = 0; t + 1 < edges.length; t++)
      mem.k.attention_backward(bufs.qkv.at, bufs.probs.at, bufs.da.at, S, H, dh, scale, bufs.dqkv.at, bufs.scratch.at, edges[t], edges[t + 1]);
    return { probs: Float32Array.from(mem.f32(bufs.probs)), a: Float32Array.from(mem.f32(bufs.a)), dqkv: Float32Array.from(mem.f32(bufs.dqkv)) };
  };
  return { qkv, da, run };
}

for (const [B, S, H, dh] of [[2, 7, 3, 6], [2, 9, 2, 8]] as const) {
  test(`attention core matches a float64 loop, forward and backward (B ${B}, S ${S}, ${H} heads of ${dh})`, () => {
    const { qkv, da, run } = setupKernel(B, S, H, dh, 7);
    const got = run([]);
    const ref = reference(qkv, B, S, H, dh);
    assertAllClose(got.probs, ref.probs, { rtol: 1e-5, atol: 1e-7 }, "probabilities");
    for (let pr = 0; pr < B * H; pr++)
      for (let i = 0; i < S; i++)
        for (let j = i + 1; j < S; j++) assert.equal(got.probs[(pr * S + i) * S + j], 0, "a masked position has probability exactly 0");
    assertAllClose(got.a, ref.a, { rtol: 1e-5, atol: 1e-6 }, "attended values");
    // ∂/∂qkv of L = Σ a ⊙ da, by central differences of the float64 loop.
    const x = Float64Array.from(qkv);
    const loss = () => reference(x, B, S, H, dh).a.reduce((acc, v, i) => acc + v * da[i], 0);
    const fd = Array.from(x, (_, i) => {
      const x0 = x[i];
      x[i] = x0 + 1e-5;
      const up = loss();
      x[i] = x0 - 1e-5;
      const down = loss();
      x[i] = x0;
      return (up - down) / 2e-5;
    });
    assertAllClose(got.dqkv, fd, { rtol: 1e-4, atol: 2e-5 }, "∂L/∂qkv");
  });
}

test("attention core: any split of the (sequence, head) pairs gives the same bytes", () => {
  const { run } = setupKernel(3, 10, 2, 12, 3);
  const whole = run([]);
  for (const cuts of [[1], [3, 4], [1, 2, 3, 4, 5]]) {
    const parts = run(cuts);
    for (const key of ["probs", "a", "dqkv"] as const)
      assert.ok(Buffer.from(parts[key].buffer).equals(Buffer.from(whole[key].buffer)), `${key} with cuts ${cuts}`);
  }
});
