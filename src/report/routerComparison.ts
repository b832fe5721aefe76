/**
 * The routers compared on a validation split (issue 21): for each dataset with runs of a
 * `routers-<dataset>` sweep (`dynamoe reproduce paper --only routers`: every rule of the registry at
 * the uniform schedule), one row per router with its test and validation accuracy, active FLOPs per
 * token, the spread of k per layer and the load imbalance per layer, and whether it is on the Pareto
 * front of test accuracy against compute. Everything comes from `config.json` and `summary.json`
 * (the final test evaluation's routing analytics), so an archived results folder is enough.
 */
import { basename, resolve, sep } from "node:path";
import { ROUTER_KINDS, type RouterKind } from "../moe/routers/registry.js";
import type { Collection, RunGroup } from "./collect.js";
import { flattenConfig, formatValue, labelDefaults, offDefault } from "./groupRuns.js";
import { kDistribution } from "./kDistribution.js";
import { formatMeanStd, type MeanStd } from "./meanStd.js";
import { paretoFront } from "./paretoFront.js";
import type { RunFolder } from "./readRun.js";
import { formatCompact } from "./resultsTable.js";

/** The folder prefix of the router sweeps (`routers-mnist`; `reproduce/paperSpecs.ts`, held to it by a test). */
export const ROUTERS_SWEEP_PREFIX = "routers-";

/**
 * A rule's k "really varies" when, averaged over seeds, more than this share of some layer's test
 * tokens get a k other than that layer's most common one. Higher than claim 1's 1% (`VARIABLE_SHARE`
 * in claims.ts): a fixed-k rule that moves a few tokens off its k (capacity drops, ties at an edge)
 * still spends the same compute on every token; this marks rules that spend it differently.
 */
export const K_VARIES_SHARE = 0.05;

/** One MoE layer of a router, each value from the final test evaluation of a seed, then averaged over seeds. */
export type RouterLayer = {
  /** Mean experts per token. */
  meanK: number;
  /** Standard deviation of k over tokens (population). */
  stdK: number;
  /** Share of tokens whose k differs from the layer's most common k (0–1). */
  offMode: number;
  /** Load imbalance `max_i f_i / mean_i f_i` (1 when balanced). */
  imbalanceMaxMean: number;
};

export type RouterRow = {
  /** The router kind, and what the group sets off the kind's defaults (`routerLabel`). */
  router: string;
  /** Seeds of the finished runs. */
  seeds: number[];
  /** Runs of this router without a summary yet (counted in nothing else). */
  unfinished: number;
  /** Test accuracy %, mean ± sample std over seeds: the test set evaluated once per run, at the end. */
  testAccuracy: MeanStd;
  /** Validation accuracy %: the last evaluation of the validation split (the best one with keepBest). */
  validationAccuracy: MeanStd;
  /** Active FLOPs per token of the FFN/MoE layers (`collect.ts`'s `runFlopsPerToken`), mean ± std over seeds. */
  activeFlops: MeanStd;
  layers: RouterLayer[];
  /** Some layer has more than `K_VARIES_SHARE` of its tokens off its most common k. */
  kVaries: boolean;
  /** No other router has at least its test accuracy for at most its FLOPs (`paretoFront.ts`, on the means). */
  onFront: boolean;
};

export type RouterComparison = { dataset: string; rows: RouterRow[] };

/** Whether a run belongs to a router sweep: some folder of its path, the root's own name included, starts with `routers-`. */
export function isRouterSweepRun(root: string, run: RunFolder): boolean {
  return [basename(resolve(root)), ...run.name.split(sep)].some((part) => part.startsWith(ROUTERS_SWEEP_PREFIX));
}

/** Per layer, the spread of k and the load imbalance of each seed's test evaluation, averaged over the seeds with as many layers as the first. */
function meanLayers(runs: RunFolder[]): RouterLayer[] {
  const per = runs.map((r) => r.summary?.test.routing ?? []).filter((routing) => routing.length > 0);
  const same = per.filter((routing) => routing.length === per[0].length);
  if (same.length === 0) return [];
  const avg = (pick: (routing: (typeof same)[number], layer: number) => number, layer: number) => same.reduce((s, routing) => s + pick(routing, layer), 0) / same.length;
  return same[0].map((_, l) => ({
    meanK: avg((routing, i) => kDistribution(routing[i].kHist).mean, l),
    stdK: avg((routing, i) => kDistribution(routing[i].kHist).std, l),
    offMode: avg((routing, i) => kDistribution(routing[i].kHist).offMode, l),
    imbalanceMaxMean: avg((routing, i) => routing[i].imbalanceMaxMean, l),
  }));
}

/** Registry order (percentile first), then kinds the registry does not know, by name. */
function byRegistry(a: RunGroup, b: RunGroup): number {
  const rank = (g: RunGroup) => {
    const i = ROUTER_KINDS.indexOf(g.router as RouterKind);
    return i < 0 ? ROUTER_KINDS.length : i;
  };
  return rank(a) - rank(b) || String(a.router).localeCompare(String(b.router));
}

/**
 * A row's name: the kind, then the keys on which the groups differ where this group is off the
 * defaults (the kind's own for router keys): `aux-free, segments=4, sharedExperts=1`, and plain
 * `aux-free` for the group at the defaults. So a row whose only run of its kind is off today's
 * defaults says so (`adamoe, router.balanceCoef=0.01`).
 */
function routerLabel(config: Record<string, unknown>, kind: string, keys: string[]): string {
  const flat = flattenConfig(config);
  const defaults = labelDefaults(kind);
  const parts = keys.filter((k) => k !== "router.kind" && flat[k] !== undefined && offDefault(flat, k, defaults));
  return [kind, ...parts.map((k) => `${k}=${formatValue(flat[k])}`)].join(", ");
}

/** The rows of one dataset's MoE groups, with the Pareto front marked. */
function comparison(dataset: string, groups: RunGroup[]): RouterComparison {
  const sorted = [...groups].sort(byRegistry);
  const kinds = sorted.map((g) => g.router ?? "?");
  // Every key on which the groups differ (not only the fewest that tell them apart), so a name says all that is off the defaults.
  const flats = sorted.map((g) => flattenConfig(g.config));
  // and every router key (held against the kind's own defaults, so one off them shows even where all groups agree).
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].filter((k) => k.startsWith("router.") || new Set(flats.map((f) => formatValue(f[k]))).size > 1).sort();
  const rows: RouterRow[] = sorted.map((g, i) => {
    const layers = meanLayers(g.runs);
    return {
      router: routerLabel(g.config, kinds[i], keys),
      seeds: g.seeds,
      unfinished: g.unfinished.length,
      testAccuracy: g.accuracy,
      validationAccuracy: g.validationAccuracy,
      activeFlops: g.activeFlops,
      layers,
      kVaries: layers.some((l) => l.offMode > K_VARIES_SHARE),
      onFront: false,
    };
  });
  const ranked = rows.filter((r) => r.testAccuracy.mean !== null && r.activeFlops.mean !== null);
  for (const i of paretoFront(ranked.map((r) => ({ cost: r.activeFlops.mean!, value: r.testAccuracy.mean! })))) ranked[i].onFront = true;
  return { dataset, rows };
}

/** One comparison per dataset (in the order first found) that has MoE runs in a `routers-*` folder, finished or not. */
export function routerComparisons(c: Collection): RouterComparison[] {
  const inSweep = (g: RunGroup) => g.model === "moe" && g.task === "image" && [...g.runs, ...g.unfinished].some((r) => isRouterSweepRun(c.root, r));
  const groups = c.groups.filter(inSweep);
  return [...new Set(groups.map((g) => g.data))].map((dataset) => comparison(dataset, groups.filter((g) => g.data === dataset)));
}

const perLayer = (layers: RouterLayer[], pick: (l: RouterLayer) => number, digits: number) => (layers.length ? layers.map((l) => pick(l).toFixed(digits)).join(", ") : "-");

/** `545.2K ± 3.1K`, or the mean alone where the FLOPs are the same in every seed. */
function formatFlops(m: MeanStd): string {
  return m.std === null || m.std === 0 ? formatCompact(m.mean) : `${formatCompact(m.mean)} ± ${formatCompact(m.std)}`;
}

/** The table's rows as text, header first (the HTML and Markdown reports escape them). */
export function routerTableRows(cmp: RouterComparison): string[][] {
  const header = [
    "router", "seeds", "test accuracy %", "validation accuracy %", "active FLOPs/token",
    "mean k per layer", "std of k per layer", "tokens off the modal k, % per layer", "max/mean load per layer", "k varies", "Pareto front",
  ];
  const rows = cmp.rows.map((r) => [
    r.router,
    `${r.seeds.join(", ") || "-"}${r.unfinished ? ` (+${r.unfinished} unfinished)` : ""}`,
    formatMeanStd(r.testAccuracy),
    formatMeanStd(r.validationAccuracy),
    formatFlops(r.activeFlops),
    perLayer(r.layers, (l) => l.meanK, 2),
    perLayer(r.layers, (l) => l.stdK, 2),
    perLayer(r.layers, (l) => 100 * l.offMode, 1),
    perLayer(r.layers, (l) => l.imbalanceMaxMean, 2),
    r.layers.length ? (r.kVaries ? "yes" : "no") : "-",
    r.onFront ? "yes" : "",
  ]);
  return [header, ...rows];
}

/** The line under each table: how the numbers were obtained. */
export function routerTableNote(): string {
  return (
    "Mean ± sample std over seeds. The test set was evaluated once per run, at the end of training, and chose nothing; " +
    `every rule's defaults were chosen on the validation split (docs/results.md). ` +
    "k and load per layer come from each seed's final test evaluation, averaged over seeds; " +
    `"k varies": more than ${100 * K_VARIES_SHARE}% of some layer's tokens get a k other than that layer's most common one.`
  );
}
