/**
 * A router's state: parameter leaves that no gradient moves and that each training step updates by a
 * rule of its own, from how many tokens each expert was given in the step.
 *
 * - `bias` `[N]`: the auxiliary-loss-free balancing bias (`balanceBias.ts`), routers with `biasRate > 0`;
 * - `l1` `[1]`: ReMoE's adaptive L1 coefficient λ (`routers/remoe.ts`), the `remoe` router.
 *
 * Both are leaves of the router's parameters (zero gradient: the rules stop it; no weight decay:
 * `isDecayed`), so AdamW leaves them as they are and checkpoints, resume and exports carry them. A
 * step reports, per stateful layer, its `loads` `[N + 1]`: the tokens each expert was given, then the
 * step's token count; `routerStateStep` (jax-js, in the jitted step) and `hostRouterStateStep` (the
 * native engine) apply the same float32 updates.
 */
import { numpy as np } from "../engine/jax.js";
import { balanceBiasStep, hasBalanceBias, hostBalanceBiasStep } from "./balanceBias.js";
import { hostL1Step, l1Step } from "./routers/remoe.js";
import { ruleOf, type RouterConfig } from "./routers/registry.js";

export type RouterState = {
  /** `[N]` the balancing bias. */
  bias?: np.Array;
  /** `[1]` ReMoE's L1 coefficient λ. */
  l1?: np.Array;
};

/** Whether the router's rule uses the adaptive L1 coefficient. */
export function hasL1(cfg: RouterConfig): boolean {
  return ruleOf(cfg.kind).losses.includes("l1");
}

/** Whether a router has state (then its layer reports loads). */
export function hasRouterState(cfg: RouterConfig): boolean {
  return hasBalanceBias(cfg) || hasL1(cfg);
}

/** The state's starting leaves: the bias at 0, λ at `l1Init`. */
export function initRouterState(cfg: RouterConfig, experts: number): RouterState {
  return {
    ...(hasBalanceBias(cfg) ? { bias: np.zeros([experts]) } : {}),
    ...(hasL1(cfg) ? { l1: np.array([cfg.l1Init]) } : {}),
  };
}

/** Mean experts per token from `loads` `[N + 1]` (the loads, then the token count), consumed: a scalar. */
function meanActive(loads: np.Array, n: number): np.Array {
  return loads.ref.slice([0, n]).sum().div(loads.slice([n, n + 1]).reshape([]));
}

/** One step of the state (jax-js) from `loads` `[N + 1]`; consumes both. */
export function routerStateStep(state: RouterState, loads: np.Array, cfg: RouterConfig): RouterState {
  const out: RouterState = {};
  if (state.bias) {
    const n = state.bias.shape[0];
    out.bias = balanceBiasStep(state.bias, loads.ref.slice([0, n]), cfg.biasRate);
  }
  if (state.l1) out.l1 = l1Step(state.l1, meanActive(loads.ref, loads.shape[0] - 1), cfg.k, cfg.l1Growth);
  loads.dispose();
  return out;
}

/**
 * The host form of `routerStateStep`: updates `bias` `[N]` and `l1` `[1]` (views of the parameters,
 * null where absent) in place from `loads` `[N + 1]`.
 */
export function hostRouterStateStep(bias: Float32Array | null, l1: Float32Array | null, loads: ArrayLike<number>, cfg: RouterConfig): void {
  const n = loads.length - 1;
  if (bias) hostBalanceBiasStep(bias, Array.prototype.slice.call(loads, 0, n) as number[], cfg.biasRate);
  if (l1) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += loads[i];
    l1[0] = hostL1Step(l1[0], Math.fround(sum / loads[n]), cfg.k, cfg.l1Growth);
  }
}
