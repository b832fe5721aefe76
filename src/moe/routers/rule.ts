/**
 * What a routing rule is: one record per rule (`routers/<rule>.ts`) holding its facts, its jax-js
 * form and, where it has one, its host form for the native engine. Everything else that depends on
 * the kind (CLI choices and help, config defaults, capacities, draw schedule, which rules the native
 * engine runs, the docs table) is derived from these records by `registry.ts`.
 *
 * The shared pipeline around a rule, in both forms: `g = softmax(x W_r / T)`; in training the input
 * jitter `x · U(1 − ε, 1 + ε)` and, for noisy rules, `g̃ = g + σ ε` as the selection scores; then the
 * rule selects; then the combine weights are either the selected gates renormalised
 * (`combineWeights.ts`) or the raw gates. Selection never carries a gradient.
 */
import type { RouterSettings, RuleInput, RuleOutput } from "../routing.js";

/** Auxiliary losses a rule adds (coefficients in the config): see `routing.ts`'s `RouterLosses`. */
export type AuxLossName = "balance" | "z" | "entropy" | "l1" | "nullBalance";

/** Scratch arrays a host selection may use (sized for one layer, reused every step). */
export type HostScratch = {
  /** `[N]` */
  sorted: Float32Array;
  /** `[N]` */
  order: number[];
  /** `[N]` per-expert counters. */
  taken: Int32Array;
  /** `[T·N]` (rules that rank the whole batch). */
  all: Float32Array;
  /** `[T]` token indices or per-token choices. */
  rows: Int32Array;
};

/** What the host driver (`hostRouter.ts`) hands a rule's host selection. */
export type HostSelectInput = {
  cfg: RouterSettings;
  /** `[T, N]` selection scores (g, or g̃ in training for noisy rules); N is the router's width (`routerWidth`). */
  scores: Float32Array;
  t: number;
  n: number;
  /** Slots per expert (the rule's `capacity`), or T for rules without one. */
  capacity: number;
  /** `[T, N]` written: 1 where the expert serves the token (zeroed by the driver). */
  mask: Uint8Array;
  /** `[T]` the rule's own uniform draws in training (`ownDraw`), else null. */
  uniform: Float32Array | null;
  /** `[N]` the trained per-expert thresholds σ(θ) (`top-any`), else null. */
  thresholds: Float32Array | null;
  /**
   * `[T]` written by rules with a capacity (zeroed by the driver): the token's assignments lost to it,
   * as the jax-js form's `dropped` counts them (`routing.ts`).
   */
  dropped: Float32Array;
  scratch: HostScratch;
};

/** The host form of a rule: its selection on plain arrays (the driver does the rest, forward and backward). */
export type HostForm = {
  select(inp: HostSelectInput): void;
};

export type RoutingRule<K extends string = string> = {
  kind: K;
  /** One line: what the rule does, for the CLI help and the docs table. */
  summary: string;
  /** Where the rule comes from (paper), or "[ours]". */
  reference: string;
  /** `softmax` (most rules): g = softmax(h / T); `relu` (`remoe`): g = ReLU(h / T); `sigmoid` (`top-any`): g = σ(h / T); the last two unnormalised. @default "softmax" */
  gate?: "softmax" | "relu" | "sigmoid";
  /** The rule trains a threshold logit θ per expert, the router's `thresholds` leaf `[N]` (0 at the start; `top-any`). */
  thresholds?: boolean;
  /** Selects on the noisy gates g̃ = g + σε in training (spec §2.1 step 3); else on g. */
  noisy: boolean;
  /**
   * `renormalised`: the selected gates renormalised over the set (`renormalize` key); `raw`: the gates;
   * `ones`: 1 for every selected expert, with the straight-through gradient of `top-any`.
   */
  weights: "renormalised" | "raw" | "ones";
  /** The config keys the rule itself reads, beyond the pipeline's (`temperature`, `jitter`, and `noise` when noisy). */
  keys: readonly (keyof RouterSettings)[];
  /** Its defaults where they differ from `ROUTER_KEY_DEFAULTS`. */
  defaults: Partial<RouterSettings>;
  /** Auxiliary losses it adds to the training loss. */
  losses: readonly AuxLossName[];
  /** Slots per expert for T tokens over N experts; absent for rules without a capacity. */
  capacity?(tokens: number, experts: number, cfg: RouterSettings, train: boolean): number;
  /**
   * Router outputs for a layer of N experts: N, or more for rules with zero-compute null experts
   * (`adamoe`), whose logits come after the N real ones and whose selection computes nothing. @default N
   */
  routerWidth?(experts: number, cfg: RouterSettings): number;
  /** A static bound on the experts a token can get (sizes the sparse dispatch buffers). */
  maxActive(experts: number, cfg: RouterSettings): number;
  /** True when, in training, the rule draws random numbers of its own (`drawSchedule.ts`): `[T]` uniforms. */
  ownDraw?(experts: number): boolean;
  /** The jax-js form (`router.ts` runs the pipeline around it). */
  route(inp: RuleInput): RuleOutput;
  /** The host form, where the native engine runs this rule. */
  host?: HostForm;
};
