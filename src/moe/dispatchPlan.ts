/**
 * How an MoE layer computes its experts for one call: dense-masked, gather into capacity buffers, or
 * expert-sorted blocks, with every size static (jax-js compiles one program per shape).
 *
 * `auto` picks by a cost rule measured on the 2-core development machine (`npm run bench:dispatch`,
 * docs/performance.md): sparse dispatch pays, per routed row, the expert's FLOPs plus two gathers
 * whose backward jax-js 0.1.25 runs as a per-element JavaScript scatter loop (docs/jax-js-notes.md),
 * plus a fixed cost for slots and sorts. Its cost in expert rows is `rows + GATHER_ROW_COST · T·K`
 * (the combine gathers each token's K ≤ N selected outputs; measured: a gathered row's backward
 * costs about 0.3 expert rows), and `auto` dispatches when that is at most
 * `AUTO_MAX_COST_FRACTION · N · T`, running dense-masked otherwise (at the spec's sizes sparse dispatch
 * won below that, lost above: Switch and GShard dispatch, expert choice, which may select all N
 * experts per token, does not). Every mode computes the same function (tested to float32
 * tolerance), so the choice changes time, never results.
 *
 * Reference: DynaMoE spec §2.3.
 */
import { dispatchCapacity, type DispatchCapacity } from "./dispatch.js";
import { maxActiveExperts } from "./routers/registry.js";
import { maxSelectedPairs } from "./groupedDispatch.js";
import type { RouterConfig } from "./routers/registry.js";

export const DISPATCH_MODES = ["auto", "dense", "gather", "grouped"] as const;
export type DispatchMode = (typeof DISPATCH_MODES)[number];

/** Largest share of the dense rows `N·T` that sparse dispatch may cost for `auto` to choose it (measured crossover). */
export const AUTO_MAX_COST_FRACTION = 0.4;

/** Cost of gathering one row for the combine (forward and its backward scatter), in expert rows (measured). */
export const GATHER_ROW_COST = 0.3;

/** Expert capacity up to which `auto` runs the experts as one batched matmul rather than a loop (measured). */
export const AUTO_BATCHED_MAX_CAPACITY = 48;

/** Block rows of grouped dispatch. */
export const DEFAULT_BLOCK_SIZE = 32;

export type DispatchOptions = {
  /** @default "auto" */
  dispatch?: DispatchMode;
  /** Slots per expert (`DispatchCapacity`). @default "exact" */
  capacity?: DispatchCapacity;
  /** Grouped: rows per block. @default 32 */
  blockSize?: number;
  /** Gather: experts as a loop of N matmuls or one batched matmul; `auto` by capacity. @default "auto" */
  expertMatmul?: "auto" | "loop" | "batched";
};

export type DispatchPlan =
  | { mode: "dense"; rows: number }
  | { mode: "gather"; rows: number; capacity: number; batched: boolean; maxActive: number }
  | { mode: "grouped"; rows: number; maxPairs: number; blockSize: number; maxActive: number };

/**
 * The computation for T tokens over N experts under a router (static: from shapes and config only).
 * `rows` is the number of expert input rows the plan computes (`N·T` for dense-masked).
 */
export function planDispatch(tokens: number, experts: number, router: RouterConfig, train: boolean, opts: DispatchOptions = {}): DispatchPlan {
  const mode = opts.dispatch ?? "auto";
  const denseRows = tokens * experts;
  if (mode === "dense") return { mode: "dense", rows: denseRows };
  const maxActive = maxActiveExperts(experts, router);
  const capacity = dispatchCapacity(tokens, experts, router, train, opts.capacity ?? "exact");
  const matmul = opts.expertMatmul ?? "auto";
  const gather = {
    mode: "gather" as const,
    rows: experts * capacity,
    capacity,
    batched: matmul === "batched" || (matmul === "auto" && capacity <= AUTO_BATCHED_MAX_CAPACITY),
    maxActive,
  };
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  // With a capacity factor the layer caps every expert at `capacity` first, so pairs ≤ N·C.
  const maxPairs = Math.min(maxSelectedPairs(tokens, experts, router, train), experts * capacity);
  const grouped = {
    mode: "grouped" as const,
    rows: (Math.ceil(maxPairs / blockSize) + experts) * blockSize,
    maxPairs,
    blockSize,
    maxActive,
  };
  if (mode === "gather") return gather;
  if (mode === "grouped") return grouped;
  const best = grouped.rows < gather.rows ? grouped : gather;
  const cost = best.rows + GATHER_ROW_COST * tokens * maxActive;
  return cost <= AUTO_MAX_COST_FRACTION * denseRows ? best : { mode: "dense", rows: denseRows };
}
