/**
 * `threefry.c`'s uniform draws against `hostUniform` (which `test/engine/hostRandom.test.ts` holds
 * against jax-js): every bit, for keys with high bits set, lengths with tails, an offset into a
 * longer draw, and both ranges the routers use; and `mul`, its companion, against the JavaScript it replaced.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { hostUniform, type HostKey } from "../../src/engine/hostRandom.js";
import { Arena, mlpInstance } from "../../src/kernels/mlpKernel.js";

const KEYS: HostKey[] = [[0, 0], [0, 7], [0x9e3779b9, 0xdeadbeef], [4294967295, 12345]];
const RANGES: [number, number][] = [[0, 1], [1 - 0.01, 1 + 0.01], [-3, 5]];

test("threefry_uniform draws exactly hostUniform's bits, whole or from an offset", () => {
  const k = mlpInstance();
  const mem = new Arena(k);
  const out = mem.take(1000);
  mem.commit();
  const view = mem.f32(out);
  for (const key of KEYS) {
    for (const [lo, hi] of RANGES) {
      const expected = hostUniform(key, 1000, lo, hi);
      const span = Math.fround(hi - lo);
      for (const n of [0, 1, 3, 4, 37, 1000]) {
        view.fill(-7);
        k.threefry_uniform(key[0], key[1], 0, n, lo, span, out.at);
        assert.deepEqual(Array.from(view.subarray(0, n)), Array.from(expected.subarray(0, n)), `key ${key}, [${lo}, ${hi}), n ${n}`);
        assert.ok(view.subarray(n).every((x) => x === -7), `key ${key}, n ${n}: nothing written past the end`);
      }
      // Elements [i0, i0 + n) of a draw are the same elements of the whole draw.
      for (const [i0, n] of [[4, 33], [13, 7], [999, 1]]) {
        k.threefry_uniform(key[0], key[1], i0, n, lo, span, out.at);
        assert.deepEqual(Array.from(view.subarray(0, n)), Array.from(expected.subarray(i0, i0 + n)), `key ${key}, elements ${i0}..${i0 + n}`);
      }
    }
  }
});

test("mul: x ⊙ y in float32; accumulating, out + x·y in float64 rounded once (JavaScript's out[i] += x[i] * y[i]); tail included", () => {
  const k = mlpInstance();
  const mem = new Arena(k);
  const n = 1003; // enough that float32 multiply-then-add would differ from the float64 sum somewhere
  const x = mem.take(n), y = mem.take(n), o = mem.take(n);
  mem.commit();
  const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);
  const ys = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.3) + 0.5);
  const start = Float32Array.from({ length: n }, (_, i) => i / 7);
  mem.f32(x).set(xs);
  mem.f32(y).set(ys);
  const f = Math.fround;
  k.mul(x.at, y.at, o.at, n, 0);
  assert.deepEqual(Array.from(mem.f32(o)), Array.from(xs, (v, i) => f(v * ys[i])));
  mem.f32(o).set(start);
  k.mul(x.at, y.at, o.at, n, 1);
  const js = start.slice();
  for (let i = 0; i < n; i++) js[i] += xs[i] * ys[i];
  assert.deepEqual(Array.from(mem.f32(o)), Array.from(js));
});
