/**
 * The per-expert capacity of the routers that have one, in one place for the routers themselves and
 * for dispatch.
 *
 * - `switch` (top-1): `C = max(minCapacity, ⌈f · T / N⌉)` (Fedus et al. 2021).
 * - `gshard` (top-2): `C = max(minCapacity, ⌈f · 2T / N⌉)`: room for both choices of every token at
 *   f = 1, as GShard's Algorithm 1 (`C = 2S/E`) and T5X's `num_selected_experts` scaling do.
 * - `expert-choice`: `C = ⌈f · T / N⌉` in [1, T], with the training factor in both modes (the factor is
 *   the mean number of experts per token, so changing it at evaluation would change the model).
 *
 * f is `capacityFactorTrain` in training, `capacityFactorEval` in evaluation (switch, gshard).
 */
import type { RouterConfig } from "./routing.js";

/** `max(minCapacity, ⌈f·tokens/experts⌉)`; the slack keeps ⌈·⌉ from rounding up 5.000000001. */
export function expertCapacity(tokens: number, experts: number, factor: number, minCapacity = 0): number {
  return Math.max(minCapacity, Math.ceil((factor * tokens) / experts - 1e-9));
}

/** Slots per expert for `expert-choice`: `⌈f·T/N⌉` clamped to [1, T]. */
export function expertChoiceCapacity(tokens: number, experts: number, factor: number): number {
  return Math.max(1, Math.min(tokens, expertCapacity(tokens, experts, factor)));
}

/** The router's own capacity for T tokens over N experts, or `null` for routers without one. */
export function routerCapacity(tokens: number, experts: number, router: RouterConfig, train: boolean): number | null {
  const factor = train ? router.capacityFactorTrain : router.capacityFactorEval;
  switch (router.kind) {
    case "switch":
      return expertCapacity(tokens, experts, factor, router.minCapacity);
    case "gshard":
      return expertCapacity(2 * tokens, experts, factor, router.minCapacity);
    case "expert-choice":
      return expertChoiceCapacity(tokens, experts, router.capacityFactorTrain);
    default:
      return null;
  }
}
