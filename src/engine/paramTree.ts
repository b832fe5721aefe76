/**
 * Walking parameter trees (plain nested objects and arrays of jax-js arrays) with dotted paths, e.g.
 * `blocks.0.moe.w1`. Paths name tensors in checkpoints and decide which leaves get weight decay.
 */
import type { numpy as np } from "./jax.js";

export type Leaf = np.Array;

function isLeaf(x: unknown): x is Leaf {
  return typeof x === "object" && x !== null && "shape" in x && "dtype" in x && !Array.isArray(x);
}

/** `[path, leaf]` pairs in a deterministic order (object keys sorted). Does not touch refcounts. */
export function flattenWithPaths(tree: unknown, prefix = ""): [string, Leaf][] {
  if (isLeaf(tree)) return [[prefix, tree]];
  const out: [string, Leaf][] = [];
  if (Array.isArray(tree)) {
    tree.forEach((t, i) => out.push(...flattenWithPaths(t, prefix ? `${prefix}.${i}` : String(i))));
  } else if (tree && typeof tree === "object") {
    for (const k of Object.keys(tree).sort()) {
      out.push(...flattenWithPaths((tree as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
    }
  }
  return out;
}

/**
 * Map leaves of `tree` (and the matching leaves of `others`, same structure) to new values, keeping
 * the structure. `fn` receives the path; it owns the leaves it is given.
 */
export function mapWithPaths<T>(tree: T, fn: (path: string, leaf: Leaf, ...others: Leaf[]) => Leaf, ...others: unknown[]): T {
  const walk = (t: unknown, os: unknown[], path: string): unknown => {
    if (isLeaf(t)) return fn(path, t, ...(os as Leaf[]));
    const join = (k: string | number) => (path ? `${path}.${k}` : String(k));
    if (Array.isArray(t)) return t.map((x, i) => walk(x, os.map((o) => (o as unknown[])[i]), join(i)));
    if (t && typeof t === "object") {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(t)) {
        out[k] = walk((t as Record<string, unknown>)[k], os.map((o) => (o as Record<string, unknown>)[k]), join(k));
      }
      return out;
    }
    return t;
  };
  return walk(tree, others, "") as T;
}

/**
 * Biases, LayerNorm parameters, a router's state and its thresholds (any leaf named b, b1, b2, bias,
 * scale, l1 or thresholds: `moe/routerState.ts`, `moe/routers/topAny.ts`) get no weight decay.
 */
export function isDecayed(path: string): boolean {
  const name = path.slice(path.lastIndexOf(".") + 1);
  return !["b", "b1", "b2", "bias", "scale", "l1", "thresholds"].includes(name);
}
