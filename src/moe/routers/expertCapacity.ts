/**
 * Per-expert capacity of the rules that have one: `C = max(minCapacity, ⌈f · tokens / N⌉)`, f the
 * capacity factor (`capacityFactorTrain` in training, `capacityFactorEval` in evaluation).
 */

/** `max(minCapacity, ⌈f·tokens/experts⌉)`; the slack keeps ⌈·⌉ from rounding up 5.000000001. */
export function expertCapacity(tokens: number, experts: number, factor: number, minCapacity = 0): number {
  return Math.max(minCapacity, Math.ceil((factor * tokens) / experts - 1e-9));
}
