/** Shared test helpers: engine start-up, array reads, `assertAllClose` and parameter-tree comparisons. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initEngine } from "../src/engine/engine.js";
import { tree, type numpy as np } from "../src/engine/jax.js";
import { flattenWithPaths } from "../src/engine/paramTree.js";

export async function setup(): Promise<void> {
  await initEngine();
}

/** Read an array to a plain number list (consumes it). */
export async function read(a: np.Array): Promise<number[]> {
  return Array.from(await a.data());
}

/** `|actual − expected| ≤ atol + rtol·|expected|` elementwise, with the first offending index in the message. */
export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol = 1e-5, atol = 1e-6 } = {}, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}[${i}]: ${a} vs expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** Deterministic pseudo-random numbers for test inputs (not for training). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Each leaf of a parameter tree as plain numbers, by path (the tree is consumed). */
export async function leaves(t: unknown): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [path, leaf] of flattenWithPaths(t)) out.set(path, Array.from(await leaf.ref.data()));
  tree.dispose(t);
  return out;
}

/** Two trees of `leaves` agree leaf by leaf to `rtol`, with an absolute floor of `rtol` × the leaf's largest magnitude. */
export function assertTreesClose(actual: Map<string, number[]>, expected: Map<string, number[]>, rtol: number, what: string): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()]);
  for (const [path, e] of expected) {
    const scale = Math.max(...e.map(Math.abs), 1e-12);
    assertAllClose(actual.get(path)!, e, { rtol, atol: rtol * scale }, `${what} ${path}`);
  }
}

/** A run folder's `metrics.jsonl` lines. */
export function metricLines(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Metric lines without wall-clock fields, which legitimately differ between runs. */
export const comparableLines = (dir: string) => metricLines(dir).map(({ stepMs: _s, ...rest }) => rest);

/**
 * Deep equality of JSON-like values, numbers to `rtol` (relative, or absolute below 1): for records
 * computed by another engine whose sums round differently (float64 against float32).
 */
export function assertJsonClose(actual: unknown, expected: unknown, rtol: number, where = "value"): void {
  if (typeof expected === "number" && typeof actual === "number") {
    assert.ok(Math.abs(actual - expected) <= rtol * Math.max(1, Math.abs(expected)), `${where}: ${actual} is not within ${rtol} of ${expected}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, `${where}: ${JSON.stringify(actual)} is not an array of ${expected.length}`);
    expected.forEach((e, i) => assertJsonClose((actual as unknown[])[i], e, rtol, `${where}[${i}]`));
  } else if (expected !== null && typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object", `${where}: not an object`);
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${where}: keys`);
    for (const [k, e] of Object.entries(expected)) assertJsonClose((actual as Record<string, unknown>)[k], e, rtol, `${where}.${k}`);
  } else {
    assert.deepEqual(actual, expected, where);
  }
}
