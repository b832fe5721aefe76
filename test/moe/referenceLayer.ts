/** Slow loop-based reference of the MoE layer, shared by the layer and router tests. */
import type { MoeLayerConfig, MoeLayerParams } from "../../src/moe/moeLayer.js";
import { read } from "../helpers.js";

/** GELU, tanh form (as the model uses). */
export const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));

export type HostParams = { w1: number[]; b1: number[]; w2: number[]; b2: number[] };

/** The experts' weights as plain lists (params not consumed). */
export async function hostParams(p: MoeLayerParams): Promise<HostParams> {
  return { w1: await read(p.w1.ref), b1: await read(p.b1.ref), w2: await read(p.w2.ref), b2: await read(p.b2.ref) };
}

/** Slow reference: for each token, loop over its selected experts and sum `w_i · E_i(x)`; a token with none gets 0. */
export function referenceLayer(P: HostParams, x: number[], weights: number[], mask: number[], t: number, cfg: MoeLayerConfig): number[] {
  const { d, h, experts: n } = cfg;
  const y = new Array<number>(t * d).fill(0);
  for (let tok = 0; tok < t; tok++) {
    for (let e = 0; e < n; e++) {
      if (mask[tok * n + e] !== 1) continue;
      const hid = new Array<number>(h).fill(0);
      for (let j = 0; j < h; j++) {
        let s = P.b1[e * h + j];
        for (let i = 0; i < d; i++) s += x[tok * d + i] * P.w1[(e * d + i) * h + j];
        hid[j] = gelu(s);
      }
      for (let i = 0; i < d; i++) {
        let s = P.b2[e * d + i];
        for (let j = 0; j < h; j++) s += hid[j] * P.w2[(e * h + j) * d + i];
        y[tok * d + i] += weights[tok * n + e] * s;
      }
    }
  }
  return y;
}
