/**
 * The random draws of a training step's routers, and which key each comes from, in one place for
 * the jax-js models and the native engine (which draws the same numbers on the host,
 * `engine/hostRandom.ts`, so both engines make the same routing decisions).
 *
 * The schedule: the step's key is split into one key per block (`layerKeys`). A router draws, in
 * this order, the input jitter `U(1 − ε, 1 + ε)` `[T, d]` (when `jitter > 0`), the gate noise
 * `σ · N(0, 1)` `[T, N]` (noisy rules, when `noise > 0`) and the rule's own `[T]` uniforms (a rule
 * with `ownDraw`, e.g. GShard's second expert). One draw uses the block's key itself; several split
 * it into that many keys, in that order (so runs from before jitter existed reproduce bit for bit).
 * Evaluation draws nothing.
 */
import { hostNormalInto, hostSplit, hostUniform, type HostKey } from "../engine/hostRandom.js";
import type { numpy as np } from "../engine/jax.js";
import { splitKey } from "../engine/splitKey.js";
import { ruleOf } from "./routers/registry.js";
import type { RouterConfig } from "./routers/registry.js";

export type RouterDraw = "jitter" | "noise" | "rule";

/** The draws a router makes in one training call over `experts` experts, in key order. */
export function routerDraws(cfg: RouterConfig, experts: number): RouterDraw[] {
  const rule = ruleOf(cfg.kind);
  const draws: RouterDraw[] = [];
  if (cfg.jitter > 0) draws.push("jitter");
  if (cfg.noise > 0 && rule.noisy) draws.push("noise");
  if (rule.ownDraw?.(experts)) draws.push("rule");
  return draws;
}

/** One key per block from a step's key (consumed). */
export function layerKeys(key: np.Array, layers: number): np.Array[] {
  return splitKey(key, layers);
}

/**
 * The keys of a router call's draws (`routerDraws`), by name; consumes `key`. Throws when training
 * needs draws and no key was given.
 */
export function routerDrawKeys(cfg: RouterConfig, experts: number, train: boolean, key: np.Array | undefined): Partial<Record<RouterDraw, np.Array>> {
  const names = train ? routerDraws(cfg, experts) : [];
  const keys: Partial<Record<RouterDraw, np.Array>> = {};
  if (names.length === 0) {
    key?.dispose();
    return keys;
  }
  if (!key) throw new Error(`applyRouter: training with ${names.join(" and ")} needs a PRNG key`);
  const split = names.length === 1 ? [key] : splitKey(key, names.length);
  names.forEach((name, i) => (keys[name] = split[i]));
  return keys;
}

/** One MoE block's router, as the host draw schedule sees it. */
export type DrawLayer = { router: RouterConfig; experts: number } | null;

/** One block's draws on the host, as views into one buffer. */
export type HostDraws = { jitter?: Float32Array; noise?: Float32Array; rule?: Float32Array };

/**
 * Fills `out` with `uniform(key, [out.length], { minval: lo, maxval: hi })`, bit for bit
 * (`hostUniform`, or the native engine's `threefry_uniform` kernel writing into its own memory).
 */
export type UniformInto = (key: HostKey, lo: number, hi: number, out: Float32Array) => void;

const hostUniformInto: UniformInto = (key, lo, hi, out) => out.set(hostUniform(key, out.length, lo, hi));

/** Each block's draws, in key order. */
const drawPlans = (layers: DrawLayer[]) => layers.map((layer) => (layer ? routerDraws(layer.router, layer.experts) : []));

/**
 * Floats of all of a step's draws (`hostStepDraws`'s buffer): 0 when no block draws anything. The
 * noise takes twice its size: its view, then the second uniform draw of its Box–Muller.
 */
export function hostDrawFloats(layers: DrawLayer[], t: number, d: number): number {
  const sizes = { jitter: t * d, rule: t };
  return drawPlans(layers).reduce((acc, p, l) => acc + p.reduce((s, name) => s + (name === "noise" ? 2 * t * layers[l]!.experts : sizes[name]), 0), 0);
}

/**
 * The host twin of the jax-js draws for a whole step: `layers[l]` is block l's router (null for a
 * block without one), T tokens of width d. Returns null when no block draws anything; else a
 * function from the step key to each block's draws (jitter bit for bit with jax-js, noise to
 * float32 rounding of its Box–Muller), as views into `buffer` (`hostDrawFloats` long; by default a
 * new one), its uniform draws made by `uniformInto`.
 */
export function hostStepDraws(
  layers: DrawLayer[], t: number, d: number, given?: Float32Array,
): ((key: HostKey, uniformInto?: UniformInto) => HostDraws[]) | null {
  const plans = drawPlans(layers);
  if (plans.every((p) => p.length === 0)) return null;
  const floats = hostDrawFloats(layers, t, d);
  const buffer = given ?? new Float32Array(floats);
  if (buffer.length !== floats) throw new Error(`hostStepDraws: a buffer of ${buffer.length} floats for ${floats}`);
  return (key, uniformInto = hostUniformInto) => {
    const keys = hostSplit(key, layers.length);
    let at = 0;
    return plans.map((names, l) => {
      const out: HostDraws = {};
      if (names.length === 0) return out;
      const { router, experts } = layers[l]!;
      const split = names.length === 1 ? [keys[l]] : hostSplit(keys[l], names.length);
      names.forEach((name, i) => {
        const k = split[i];
        if (name === "jitter") {
          const view = buffer.subarray(at, (at += t * d));
          uniformInto(k, 1 - router.jitter, 1 + router.jitter, view);
          out.jitter = view;
        } else if (name === "noise") {
          // σ · normal(k), its second uniform draw in the floats after it.
          const view = buffer.subarray(at, (at += t * experts));
          const u2 = buffer.subarray(at, (at += t * experts));
          hostNormalInto(k, view, u2, router.noise, (kk, o) => uniformInto(kk, 0, 1, o));
          out.noise = view;
        } else {
          const view = buffer.subarray(at, (at += t));
          uniformInto(k, 0, 1, view);
          out.rule = view;
        }
      });
      return out;
    });
  };
}

