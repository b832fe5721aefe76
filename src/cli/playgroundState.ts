/**
 * A Playground training state on its way from the page's worker to the board, which writes it as a
 * run folder's checkpoint (`train/checkpoint.ts`'s `encodeCheckpoint`, the one definition of that
 * layout). The wire form is one buffer:
 *
 *   [u32 header bytes][header JSON, padded to 4 bytes][float32 data of each tensor, in header order]
 *
 * with the header `{ progress, key: [k0, k1], count, tensors: [{ name, shape }] }` and tensor names
 * `params.<path>`, `mu.<path>`, `nu.<path>` (`engine/paramTree.ts` paths).
 */
import { numpy as np } from "../engine/jax.js";
import { flattenWithPaths, mapWithPaths } from "../engine/paramTree.js";
import type { AdamWState } from "../steps/adamw.js";
import type { Progress, TrainState } from "../train/checkpoint.js";

type Header = { progress: Progress; key: [number, number]; count: number; tensors: { name: string; shape: number[] }[] };

/** Pack `params` and `opt` (read, not consumed), the PRNG key's words and the progress. */
export async function packState<P>(params: P, opt: AdamWState<P>, key: [number, number], progress: Progress): Promise<ArrayBuffer> {
  const parts: { name: string; shape: number[]; data: Float32Array }[] = [];
  for (const [prefix, tree] of [["params", params], ["mu", opt.mu], ["nu", opt.nu]] as const) {
    for (const [p, a] of flattenWithPaths(tree)) parts.push({ name: `${prefix}.${p}`, shape: a.shape, data: (await a.ref.data()) as Float32Array });
  }
  const count = Number((await opt.count.ref.data())[0]);
  const header: Header = { progress, key, count, tensors: parts.map(({ name, shape }) => ({ name, shape })) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const at = 4 + Math.ceil(json.length / 4) * 4;
  const out = new ArrayBuffer(at + parts.reduce((n, t) => n + t.data.byteLength, 0));
  new DataView(out).setUint32(0, json.length, true);
  new Uint8Array(out, 4, json.length).set(json);
  let pos = at;
  for (const t of parts) {
    new Float32Array(out, pos, t.data.length).set(t.data);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * The training state packed by `packState`, as jax-js arrays in the structure of `template` (fresh
 * parameters of the same model, consumed). A state of another model is an error.
 */
export function unpackState<P>(buf: Uint8Array, template: P): TrainState<P> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + length))) as Header;
  const data = new Map<string, np.Array>();
  let pos = buf.byteOffset + 4 + Math.ceil(length / 4) * 4;
  const bytes = buf.buffer.slice(pos, buf.byteOffset + buf.byteLength); // aligned copy
  pos = 0;
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    data.set(t.name, np.array(new Float32Array(bytes, pos, n)).reshape(t.shape));
    pos += n * 4;
  }
  const take = (prefix: string) =>
    mapWithPaths(template, (p, leaf) => {
      const a = data.get(`${prefix}.${p}`);
      if (!a || a.shape.join(",") !== leaf.shape.join(",")) throw new Error(`playground state: ${prefix}.${p} is missing or has another shape`);
      return a;
    });
  const state: TrainState<P> = {
    params: take("params"),
    opt: { mu: take("mu"), nu: take("nu"), count: np.array(Float32Array.of(header.count)).reshape([]) }, // AdamW's step count, float32 as `adamw.ts` keeps it
    key: np.array(Uint32Array.of(...header.key), { dtype: np.uint32 }),
    progress: header.progress,
  };
  for (const [, leaf] of flattenWithPaths(template)) leaf.dispose();
  return state;
}
