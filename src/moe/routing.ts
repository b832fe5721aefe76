/**
 * The routing record every router returns, and the router configuration shared by all routers.
 *
 * Analytics and the MoE layer read only this record, so routers are interchangeable.
 */
import type { numpy as np } from "../engine/jax.js";

/** What a router decided for a batch of T tokens over N experts. */
export type Routing = {
  /** `[T, N]` float32, 1 where the expert is selected for the token, else 0. */
  mask: np.Array;
  /**
   * `[T, N]` combine weights, zero outside the selected set. Rows sum to 1 for routed tokens under
   * the renormalising routers; `switch` and `expert-choice` use the raw gates (rows sum to less
   * than 1); a token with no expert (dropped, or picked by no expert) has an all-zero row.
   */
  weights: np.Array;
  /**
   * `[T, N]` router probabilities g = softmax(logits / T), before gate noise (after input jitter, if
   * any); for ReLU-gated rules, the ReLU gates normalised over each token's (zero row where none).
   */
  probs: np.Array;
  /** `[T]` float32 number of experts active for each token (0 for a token that no expert processes). */
  active: np.Array;
  /** Scalar: the router's auxiliary loss, coefficients applied (zero for routers without one). */
  auxLoss: np.Array;
  /** The auxiliary losses before their coefficients, for logging; present only for routers that have them. */
  losses?: RouterLosses;
  /**
   * `[T]` float32, routers with a capacity only (`switch`, `gshard`, `expert-choice`): how many of
   * the token's assignments were dropped because an expert was full (0 or 1 for `switch`, 0..2 for
   * `gshard`; for `expert-choice`, 1 when no expert picked the token). Dropped tokens pass through
   * the residual.
   */
  dropped?: np.Array;
};

/** Scalar auxiliary losses, coefficients not applied. */
export type RouterLosses = {
  /** `N · Σ_i f_i · P_i`; 1 when routing is perfectly balanced. */
  balance?: np.Array;
  /** `mean_t logsumexp(h_t / T)²`. */
  z?: np.Array;
  /** `mean_t −Σ_i g_ti log g_ti`. */
  entropy?: np.Array;
  /** `(1/T) Σ_t Σ_i f_i R_ti`, ReMoE's load-weighted L1 of the ReLU gates (`routers/remoe.ts`). */
  l1?: np.Array;
  /** `W · Σ_i f_i P_i` over real and null experts, the null experts' f averaged (`routers/adamoe.ts`); k when balanced. */
  nullBalance?: np.Array;
};

/** How selected gates become combine weights (spec §2.1 step 6). */
export type Renormalize = "gates" | "softmax-of-gates";

/**
 * A router's settings: its configuration (`RouterConfig`, `routers/registry.ts`) without the kind.
 * Every field applies to every router unless it names the routers it is for.
 * The temperature's and the jitter's defaults depend on the router (each rule's `defaults`,
 * `routers/`): the spec's 0.5 for DynaMoE's rules and the top-k baseline they replace, the plain
 * softmax (1) of their papers for `switch`, `gshard`, `expert-choice` and `top-p`; Switch's input
 * jitter 0.01.
 */
export type RouterSettings = {
  /** Softmax temperature T in `g = softmax(h / T)`. @default the rule's (`routers/registry.ts`) */
  temperature: number;
  /**
   * Std σ of the Gaussian noise added to the gates in training only, for the rules that select on
   * the noisy gates g̃ (`percentile`, `topk`, `top-p`, `threshold`, `batch-percentile`). `switch`,
   * `gshard` and `expert-choice` follow their papers and ignore it (see `jitter`). @default 0.1
   */
  noise: number;
  /** Percentile τ ∈ [0, 100] for the `percentile` and `batch-percentile` routers. @default 50 */
  tau: number;
  /** Experts per token for `topk` and `aux-free` (clamped to the layer's count), slots per token over real and null experts for `adamoe`, and the mean active experts `remoe` aims at. @default 2 (4 for adamoe) */
  k: number;
  /**
   * `gates`: `w_i = g_i / Σ_S g_j`; `softmax-of-gates`: `w_i = exp(g_i) / Σ_S exp(g_j)`. Used by the
   * renormalising routers (all but `switch` and `expert-choice`, whose weights are the raw gates).
   * @default "gates"
   */
  renormalize: Renormalize;
  /** Capacity factor in training for `switch`, `gshard` and `expert-choice`. @default 1.25 */
  capacityFactorTrain: number;
  /**
   * Capacity factor in evaluation for `switch` and `gshard`. `expert-choice` uses
   * `capacityFactorTrain` in both modes: its factor is the mean number of experts per token, so
   * changing it at evaluation would change the model. @default 2.0
   */
  capacityFactorEval: number;
  /** Smallest per-expert capacity for `switch` and `gshard`: `C = max(minCapacity, ⌈f·T/N⌉)`. @default 4 */
  minCapacity: number;
  /** Coefficient of the load-balancing loss `N · Σ f_i · P_i` (`switch`, `gshard`). @default 0.01 */
  balanceCoef: number;
  /** Coefficient of the router z-loss `mean(logsumexp(h / T)²)` (`switch`, `gshard`). @default 0.001 */
  zLossCoef: number;
  /**
   * Multiplicative jitter ε on the router input in training, `x · U(1 − ε, 1 + ε)`, for every router
   * (Fedus et al. 2021). 0 turns it off. @default the rule's (0.01 for switch, else 0)
   */
  jitter: number;
  /** Gate mass p ∈ (0, 1] that the `top-p` router's selected set must reach. @default 0.4 */
  p: number;
  /** Coefficient of the gate-entropy loss of the `top-p` router (Huang et al. 2024). @default 1e-4 */
  entropyCoef: number;
  /** Absolute gate threshold t of the `threshold` router: `S = { i : g̃_i ≥ t }`. @default 0.2 */
  threshold: number;
  /**
   * Rate γ of the auxiliary-loss-free balancing bias (DeepSeek-V3, Wang et al. 2024): a per-expert
   * bias b, a parameter of the router that no gradient moves, is added to the selection scores only
   * (`s_i + b_i` picks the experts; the combine weights use the gates), and after each training step
   * `b_i += γ · sign(mean_j load_j − load_i)`, the load being the tokens each expert was given in the
   * step. Any rule can use it; 0 turns it off (no bias). @default the rule's (0.001 for `aux-free`, else 0)
   */
  biasRate: number;
  /**
   * ReMoE's adaptive L1 coefficient λ (`remoe` only): its value at the start, and the factor α by which
   * each step multiplies (too many experts active) or divides (too few) it, toward `k` active experts
   * per token. @default 1e-8 and 1.2 (Wang et al. 2024)
   */
  l1Init: number;
  l1Growth: number;
  /** Null experts per real expert (`adamoe`): a layer of N experts gets `round(nullRatio · N)` zero-compute ones. @default 1 */
  nullRatio: number;
};

/**
 * The default of every router key, whatever the kind; each rule's own `defaults`
 * (`routers/registry.ts`) override these for its kind (the temperature and the jitter today).
 */
export const ROUTER_KEY_DEFAULTS: RouterSettings = {
  temperature: 0.5,
  noise: 0.1,
  tau: 50,
  k: 2,
  renormalize: "gates",
  capacityFactorTrain: 1.25,
  capacityFactorEval: 2.0,
  minCapacity: 4,
  balanceCoef: 0.01,
  zLossCoef: 0.001,
  jitter: 0,
  p: 0.4,
  entropyCoef: 1e-4,
  threshold: 0.2,
  biasRate: 0,
  l1Init: 1e-8,
  l1Growth: 1.2,
  nullRatio: 1,
};

/** Per-call options of a router. */
export type RouteOptions = {
  /** The layer's real experts N, when the router has more outputs (null experts, `routerWidth`). @default the router's width */
  experts?: number;
  /** Training mode: noise and jitter are applied, and the training capacity factor used, only when true. */
  train: boolean;
  /**
   * PRNG key for the noise, the jitter and `gshard`'s second-expert draw; required in training when
   * the router draws any of them. Consumed.
   */
  key?: np.Array;
};

/**
 * What the shared router pipeline hands a routing rule. Not consumed: a rule takes `.ref`s of what
 * it keeps, except `key`, which it consumes when given.
 */
export type RuleInput = {
  /** `[T, N]` softmax input `h / T` (differentiable). */
  logits: np.Array;
  /** `[T, N]` gates g = softmax(h / T), or ReLU(h / T) for ReLU-gated rules (differentiable). */
  probs: np.Array;
  /** `[T, N]` selection scores (g, or g̃ with noise), gradient stopped. */
  scores: np.Array;
  cfg: RouterSettings;
  train: boolean;
  /** PRNG key for the rule's own draws (`gshard` in training); consumed. */
  key?: np.Array;
  /** `[1]` the router's adaptive L1 coefficient λ (`remoe`), gradient stopped by the rule; not consumed. */
  l1?: np.Array;
  /** The layer's real experts N; `logits`, `probs` and `scores` are `[T, W]`, W = N + null experts (`adamoe`). */
  experts: number;
  /** `[N]` the router's trainable threshold logits θ (`top-any`); not consumed. */
  thresholds?: np.Array;
};

/** What a routing rule decides; the pipeline adds `probs` and `active` to make a `Routing`. */
export type RuleOutput = Pick<Routing, "mask" | "weights" | "auxLoss" | "losses" | "dropped">;
