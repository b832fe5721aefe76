/** Splitting jax-js PRNG keys: every function that draws takes a key and splits it locally. */
import { random, type numpy as np } from "./jax.js";

/** Split a PRNG key into `n` independent keys; consumes `key`. */
export function splitKey(key: np.Array, n: number): np.Array[] {
  const keys = random.split(key, n); // [n, 2]
  const out: np.Array[] = [];
  for (let i = 0; i < n; i++) out.push(keys.ref.slice(i));
  keys.dispose();
  return out;
}
