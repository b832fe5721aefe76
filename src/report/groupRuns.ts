/**
 * Group runs that differ only in their seed (and in paths), and label each group by the
 * configuration keys that tell the groups apart.
 *
 * A run's configuration is first reduced to what changes the model it trains (`effectiveConfig`):
 * the seed and data paths go, keys the task does not read go (a language model's unused `dataset`,
 * an image model's `corpus`), and a dense model drops its unused router and schedule keys. Runs with
 * equal reduced configurations form a group.
 */
import { ROUTER_KINDS, routerDefaults, type RouterKind } from "../moe/routers/registry.js";
import { defaultConfig } from "../train/config.js";

/**
 * Keys that never separate groups: the seed (what a group varies), file paths, and how often a run
 * logs and checkpoints (a resumed run ends bit for bit where an uninterrupted one does).
 */
const IGNORED_KEYS = ["seed", "dataDir", "out", "outDir", "resume", "checkpointEvery", "logEvery"];
/** Keys only language models read. */
const LM_KEYS = ["corpus", "scale", "context", "attention", "heads", "validationFraction", "headChunk", "microBatch"];
/** Keys only MoE models read. */
const MOE_KEYS = ["router", "layerRouters", "schedule", "eMax", "eMin", "experts", "dispatch", "dispatchCapacity"];

/** The configuration with the keys that do not change the trained model removed (a new object). */
export function effectiveConfig(config: Record<string, unknown>): Record<string, unknown> {
  const c: Record<string, unknown> = { ...config };
  for (const k of IGNORED_KEYS) delete c[k];
  if (c.task === "lm") {
    delete c.dataset;
    if (c.attention !== true) delete c.heads;
  } else {
    for (const k of LM_KEYS) delete c[k];
  }
  if (c.model === "dense") for (const k of MOE_KEYS) delete c[k];
  return c;
}

/** JSON with object keys sorted, so equal configurations give equal strings. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Nested objects flattened to dotted keys (`router.kind`); arrays stay values. */
export function flattenConfig(config: Record<string, unknown>, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flattenConfig(v as Record<string, unknown>, `${prefix}${k}.`));
    else if (v !== undefined) out[`${prefix}${k}`] = v;
  }
  return out;
}

/** Runs keyed by their effective configuration, in first-seen order. */
export function groupBy<R>(runs: R[], configOf: (r: R) => Record<string, unknown>): { key: string; config: Record<string, unknown>; runs: R[] }[] {
  const groups = new Map<string, { key: string; config: Record<string, unknown>; runs: R[] }>();
  for (const r of runs) {
    const config = effectiveConfig(configOf(r));
    const key = stableJson(config);
    const g = groups.get(key);
    if (g) g.runs.push(r);
    else groups.set(key, { key, config, runs: [r] });
  }
  return [...groups.values()];
}

/** Keys tried first when naming groups: what a reader thinks of first. */
const LABEL_PRIORITY = ["task", "dataset", "corpus", "scale", "model", "attention", "schedule", "experts", "router.kind", "eMax", "eMin", "layerRouters"];
/** Short names in labels. */
const LABEL_ALIAS: Record<string, string> = { "router.kind": "router" };

/** `8,6,4,2` for arrays, the plain value otherwise; `-` where a group lacks the key. */
export function formatValue(v: unknown): string {
  if (v === undefined) return "-";
  if (Array.isArray(v)) return v.map((x) => (x && typeof x === "object" ? stableJson(x) : String(x))).join(",");
  return String(v);
}

/**
 * The keys that vary across the groups, reduced to a small set that still tells every group apart:
 * keys are taken in `LABEL_PRIORITY` order then alphabetically, and a key is kept only when it
 * splits groups the keys kept so far do not. Returns the kept dotted keys.
 */
export function labelKeys(configs: Record<string, unknown>[]): string[] {
  const flat = configs.map((c) => flattenConfig(c));
  const all = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const varying = all.filter((k) => new Set(flat.map((f) => formatValue(f[k]))).size > 1);
  const rank = (k: string) => {
    const i = LABEL_PRIORITY.indexOf(k);
    return i < 0 ? LABEL_PRIORITY.length : i;
  };
  varying.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const kept: string[] = [];
  const distinct = (keys: string[]) => new Set(flat.map((f) => keys.map((k) => formatValue(f[k])).join("\u0000"))).size;
  for (const k of varying) if (distinct([...kept, k]) > distinct(kept)) kept.push(k);
  return kept;
}

/**
 * The flattened defaults a group's settings are held against in labels: today's configuration
 * defaults, with the router keys at its kind's own defaults (`routerDefaults`).
 */
export function labelDefaults(kind: unknown): Record<string, unknown> {
  const router = typeof kind === "string" && (ROUTER_KINDS as readonly string[]).includes(kind) ? routerDefaults(kind as RouterKind) : defaultConfig().router;
  return flattenConfig({ ...defaultConfig(), router } as unknown as Record<string, unknown>);
}

/** Whether a group's value of `key` is off the defaults (`labelDefaults` of its router kind). */
export function offDefault(flat: Record<string, unknown>, key: string, defaults: Record<string, unknown>): boolean {
  return formatValue(flat[key]) !== formatValue(defaults[key]);
}

/**
 * A group's label from `keys` (`model=moe, schedule=descending`), leaving out keys the group does not
 * have (a dense model has no schedule) and, beyond the keys of `LABEL_PRIORITY`, keys at their
 * defaults (a router key at its kind's own default: AdaMoE's `balanceCoef` 0.1 is not named beside
 * another rule's 0.01). With no keys (one group) it names the model, schedule and router.
 */
export function groupLabel(config: Record<string, unknown>, keys: string[]): string {
  const flat = flattenConfig(config);
  const defaults = labelDefaults(flat["router.kind"]);
  const use = keys.length > 0 ? keys : ["model", "schedule", "router.kind"];
  const parts = use
    .filter((k) => flat[k] !== undefined && (LABEL_PRIORITY.includes(k) || offDefault(flat, k, defaults)))
    .map((k) => `${LABEL_ALIAS[k] ?? k}=${formatValue(flat[k])}`);
  return parts.length > 0 ? parts.join(", ") : "all runs";
}
