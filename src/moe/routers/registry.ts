/**
 * The routing rules, in one registry: adding a router is one file in this folder (its `RoutingRule`
 * record) and one line here. The CLI's choices and help, the config schema's defaults, capacities,
 * the dispatch bound, the draw schedule, which rules the native engine runs and the docs table
 * (`npm run docs:routers`) are all read from these records.
 */
import { ROUTER_KEY_DEFAULTS, type RouterSettings } from "../routing.js";
import { adamoeRule } from "./adamoe.js";
import { auxFreeRule } from "./auxFree.js";
import { batchPercentileRule } from "./batchPercentile.js";
import { expertChoiceRule } from "./expertChoice.js";
import { gshardRule } from "./gshard.js";
import { percentileRule } from "./percentile.js";
import { remoeRule } from "./remoe.js";
import type { RoutingRule } from "./rule.js";
import { switchRule } from "./switch.js";
import { thresholdRule } from "./threshold.js";
import { topkRule } from "./topk.js";
import { topAnyRule } from "./topAny.js";
import { topPRule } from "./topP.js";

/** Every rule by kind, in the order the CLI and the docs list them. */
export const ROUTING_RULES = {
  percentile: percentileRule,
  topk: topkRule,
  switch: switchRule,
  gshard: gshardRule,
  "expert-choice": expertChoiceRule,
  "top-p": topPRule,
  threshold: thresholdRule,
  "batch-percentile": batchPercentileRule,
  "aux-free": auxFreeRule,
  remoe: remoeRule,
  adamoe: adamoeRule,
  "top-any": topAnyRule,
} as const satisfies { [K in string]: RoutingRule<K> };

export type RouterKind = keyof typeof ROUTING_RULES;

/** A router's configuration: its kind and settings (`routing.ts`). */
export type RouterConfig = RouterSettings & { kind: RouterKind };

export const ROUTER_KINDS = Object.keys(ROUTING_RULES) as [RouterKind, ...RouterKind[]];

/** The rule of a kind. */
export function ruleOf(kind: RouterKind): RoutingRule {
  const rule: RoutingRule | undefined = ROUTING_RULES[kind];
  if (!rule) throw new Error(`unknown router kind ${String(kind)}`);
  return rule;
}

/** The default configuration of a router kind: `ROUTER_KEY_DEFAULTS` with the rule's own defaults. */
export function routerDefaults(kind: RouterKind): RouterConfig {
  return { kind, ...ROUTER_KEY_DEFAULTS, ...ruleOf(kind).defaults };
}

/** The default router (the spec's percentile rule). */
export const DEFAULT_ROUTER: RouterConfig = routerDefaults("percentile");

/** The router's own per-expert capacity for T tokens over N experts, or `null` for rules without one. */
export function routerCapacity(tokens: number, experts: number, router: RouterConfig, train: boolean): number | null {
  const rule = ruleOf(router.kind);
  return rule.capacity ? rule.capacity(tokens, experts, router, train) : null;
}

/** The router's outputs for a layer of N experts (`RoutingRule.routerWidth`): N but for rules with null experts. */
export function routerWidth(experts: number, router: RouterConfig): number {
  return ruleOf(router.kind).routerWidth?.(experts, router) ?? experts;
}

/** A static bound on the experts selected per token (`RoutingRule.maxActive`). */
export function maxActiveExperts(experts: number, router: RouterConfig): number {
  return ruleOf(router.kind).maxActive(experts, router);
}

/** The kinds the native engine runs (those with a host form). */
export const HOST_ROUTER_KINDS: readonly RouterKind[] = ROUTER_KINDS.filter((k) => ROUTING_RULES[k].host !== undefined);
