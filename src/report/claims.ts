/**
 * The paper's claims (spec §1), each checked against the groups of a collection: the paper's number,
 * ours (mean ± std, n) where the runs allow, and a verdict from `verdict.ts`. The only numbers typed
 * in here are the paper's own, in `PAPER`; everything on our side is computed from run folders.
 *
 * A comparison pairs two groups whose effective configurations are equal except for what the claim
 * compares (the schedule, the router, dense vs MoE). Comparisons in the paper's own setting (the
 * percentile router; language models without attention) decide a claim's verdict; the others are
 * shown beside them, marked as not counted.
 */
import type { Collection, RunGroup } from "./collect.js";
import { stableJson } from "./groupRuns.js";
import { kDistribution } from "./kDistribution.js";
import { formatMeanStd, meanStd, type MeanStd } from "./meanStd.js";
import { combineVerdicts, compareVerdict, type Judgement, type Verdict } from "./verdict.js";

/** The paper's numbers (spec §1), labelled as the paper's wherever they are shown. */
export const PAPER = {
  imagesDescendingOverUniformMaxPoints: 5.47,
  lmTiny: { descending: 1011.8, uniform: 1078.31 },
  lmSmall: { ascending: 2308.29, dense: 2311.02 },
} as const;

/** A layer counts as routing a variable number of experts when at least this share of tokens differs from its most common k. */
export const VARIABLE_SHARE = 0.01;

export type ClaimRow = {
  /** What was compared, in which setting (`mnist, router=percentile`). */
  context: string;
  /** The paper's number for this row, or "". */
  paper: string;
  /** Our numbers. */
  ours: string;
  verdict: Verdict;
  why: string;
  /** Whether this row is in the paper's setting and so decides the claim's verdict. */
  counted: boolean;
  /** The part of a claim the row belongs to (`sotu, tiny`), where the claim has a verdict per part. */
  part?: string;
};

export type Claim = {
  id: number;
  title: string;
  /** The paper's statement, with its numbers. */
  paper: string;
  rows: ClaimRow[];
  verdict: Verdict;
  /** A verdict per part (claim 4: per corpus and scale), from the counted rows of each part. */
  parts?: { part: string; verdict: Verdict }[];
  /** How to run what the claim needs, when nothing in the folder tests it. */
  howToRun: string;
};

/** The paper's numbers as it prints them (two decimals). */
const p2 = (x: number) => x.toFixed(2);

const MOE_KEYS = ["router", "layerRouters", "schedule", "eMax", "eMin", "experts", "dispatch", "dispatchCapacity"];

function omit(config: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const c = { ...config };
  for (const k of keys) delete c[k];
  return c;
}

/** Groups a and b have equal configurations once `keys` are removed from both. */
function sameExcept(a: RunGroup, b: RunGroup, keys: string[]): boolean {
  return stableJson(omit(a.config, keys)) === stableJson(omit(b.config, keys));
}

/** The dense group with the same data, sizes and training settings as an MoE group. */
function densePartner(g: RunGroup, groups: RunGroup[]): RunGroup | undefined {
  const want = stableJson({ ...omit(g.config, MOE_KEYS), model: "dense" });
  return groups.find((o) => o.model === "dense" && o.runs.length > 0 && stableJson(o.config) === want);
}

const isPaperRouter = (g: RunGroup) => g.router === "percentile";
const isPaperSetting = (g: RunGroup) => (g.model === "dense" || isPaperRouter(g)) && g.config.attention !== true;

/** `mnist, router=percentile`: the data and the setting keys a reader needs to tell rows apart. */
function contextOf(g: RunGroup, extra: string[] = []): string {
  const parts = [g.data];
  if (g.task === "lm") parts.push(String(g.config.scale ?? ""), g.config.attention === true ? "attention" : "no attention");
  if (g.model === "moe") parts.push(`router=${g.router}`);
  return [...parts.filter((p) => p !== ""), ...extra].join(", ");
}

const withN = (name: string, m: MeanStd, digits = 2) => `${name} ${formatMeanStd(m, digits)} (n=${m.n})`;

function row(context: string, paper: string, ours: string, j: Judgement, counted: boolean): ClaimRow {
  return { context, paper, ours, verdict: j.verdict, why: j.why, counted };
}

function claimVerdict(rows: ClaimRow[]): Verdict {
  return combineVerdicts(rows.filter((r) => r.counted).map((r) => r.verdict));
}

const finished = (groups: RunGroup[]) => groups.filter((g) => g.runs.length > 0);

/** Claim 1: a variable number of experts per token, from the k-histograms of the test set. */
function claimVariableExperts(c: Collection): Claim {
  const rows: ClaimRow[] = [];
  for (const g of finished(c.groups).filter((g) => g.model === "moe")) {
    // Per seed: the largest share of a layer's tokens whose k differs from that layer's most common k.
    const shares = g.runs.map((r) => {
      const routing = r.summary?.test.routing ?? [];
      return routing.length ? Math.max(...routing.map((l) => kDistribution(l.kHist).offMode)) : NaN;
    });
    if (shares.some((s) => !Number.isFinite(s))) continue;
    const ranges = g.kHistograms.map((h) => {
      const ks = h.fractions.map((f, k) => (f > 0 ? k : -1)).filter((k) => k >= 0);
      return ks.length ? (ks[0] === ks.at(-1) ? `${ks[0]}` : `${ks[0]}–${ks.at(-1)}`) : "-";
    });
    const verdict: Verdict = shares.every((s) => s >= VARIABLE_SHARE) ? "held" : shares.every((s) => s < VARIABLE_SHARE) ? "did not hold" : "inconclusive";
    const why =
      verdict === "held"
        ? `in every seed some layer has ≥ ${100 * VARIABLE_SHARE}% of tokens off its most common k`
        : verdict === "did not hold"
          ? `in every seed every layer gives more than ${100 - 100 * VARIABLE_SHARE}% of its tokens the same k`
          : "seeds disagree";
    const share = meanStd(shares.map((s) => 100 * s));
    rows.push(row(contextOf(g, [`schedule=${g.schedule}`]), "1 to a layer-dependent maximum", `k per layer ${ranges.join(" | ")}; tokens off the modal k: ${formatMeanStd(share)}% (n=${share.n})`, { verdict, why }, isPaperSetting(g)));
  }
  return {
    id: 1,
    title: "Routing activates a variable number of experts per token",
    paper: 'a variable number of experts per token, "ranging from a minimum of 1 to a layer-dependent maximum" (no number given)',
    rows,
    verdict: claimVerdict(rows),
    howToRun: "dynamoe train --router percentile (any MoE run records k-histograms)",
  };
}

/** Claim 3: on images, descending beats uniform (by up to 5.47 points). */
function claimDescendingImages(c: Collection): Claim {
  const groups = finished(c.groups).filter((g) => g.task === "image" && g.model === "moe");
  const rows: ClaimRow[] = [];
  for (const desc of groups.filter((g) => g.schedule === "descending")) {
    const uni = groups.find((u) => u.schedule === "uniform" && sameExcept(desc, u, ["schedule"]));
    if (!uni) continue;
    const delta = desc.accuracy.mean! - uni.accuracy.mean!;
    const ours = `${withN("descending", desc.accuracy)} vs ${withN("uniform", uni.accuracy)} %; Δ ${delta >= 0 ? "+" : ""}${delta.toFixed(2)} points`;
    rows.push(row(contextOf(desc), `descending ahead by up to ${PAPER.imagesDescendingOverUniformMaxPoints} points`, ours, compareVerdict(desc.accuracy, uni.accuracy, "higher"), isPaperSetting(desc)));
  }
  return {
    id: 3,
    title: "Images: descending beats uniform",
    paper: `descending beats uniform on MNIST, Fashion-MNIST and CIFAR-10, by up to ${PAPER.imagesDescendingOverUniformMaxPoints} points (largest on CIFAR-10 [review]), and converges faster`,
    rows,
    verdict: claimVerdict(rows),
    howToRun: "npm run accuracy (dense, uniform, descending; seeds 0–2) or dynamoe train --schedule uniform|descending --seed 0..2",
  };
}

/** The schedule the paper found best at each language-model scale (claim 4). */
export const PAPER_BEST_LM_SCHEDULE: Record<string, string> = { tiny: "descending", small: "ascending", medium: "uniform" };

/** The schedules the paper compared on language models; rows with other schedules are shown, not counted. */
const PAPER_LM_SCHEDULES = ["uniform", "descending", "ascending"];

/** The paper's language-model corpus; rows on another corpus say so beside the paper's number. */
const PAPER_CORPUS = "recycling-the-web-1k";

/** `−1.2, +3.4, −0.5` — per seed both groups ran, A's perplexity relative to B's in percent (the same seed has the same validation split). */
function pairedPercent(a: RunGroup, b: RunGroup): string {
  const bySeed = (g: RunGroup) => new Map(g.runs.map((r) => [Number(r.config.seed ?? 0), r.summary!.test.perplexity] as const));
  const [pa, pb] = [bySeed(a), bySeed(b)];
  const seeds = [...pa.keys()].filter((s) => pb.has(s) && pa.get(s) !== undefined && pb.get(s) !== undefined).sort((x, y) => x - y);
  if (seeds.length === 0) return "";
  const parts = seeds.map((s) => {
    const d = (100 * (pa.get(s)! - pb.get(s)!)) / pb.get(s)!;
    return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(1)}`;
  });
  return `; per seed ${seeds.join(", ")}: ${parts.join(", ")}%`;
}

/** Claim 4: language-model perplexity per scale: the paper's best schedule at each scale against the others, and against the dense MLP. */
function claimLanguageModels(c: Collection): Claim {
  const groups = finished(c.groups).filter((g) => g.task === "lm" && g.perplexity !== null);
  const moe = groups.filter((g) => g.model === "moe");
  const rows: ClaimRow[] = [];
  const ppl = (g: RunGroup) => g.perplexity!;
  const counts = (g: RunGroup) => isPaperSetting(g) && g.config.budget !== "matched" && (g.model === "dense" || PAPER_LM_SCHEDULES.includes(String(g.schedule)));
  const compare = (a: RunGroup, aName: string, b: RunGroup, bName: string, paper: string) => {
    const d = (100 * (ppl(a).mean! - ppl(b).mean!)) / ppl(b).mean!;
    const ours = `${withN(aName, ppl(a))} vs ${withN(bName, ppl(b))}; ${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(1)}%${pairedPercent(a, b)}`;
    const g = a.model === "moe" ? a : b;
    const corpus = g.data === PAPER_CORPUS ? "" : ` (on ${PAPER_CORPUS}; ours on ${g.data}: another corpus)`;
    const budget = g.config.budget === "matched" ? ["budget matched"] : [];
    const r = row(contextOf(g, budget), paper + corpus, ours, compareVerdict(ppl(a), ppl(b), "lower"), counts(a) && counts(b));
    rows.push({ ...r, part: `${g.data}, ${String(g.config.scale ?? "")}` });
  };
  const paperNumber = (scale: string, schedule: string): string => {
    if (scale === "tiny" && schedule in PAPER.lmTiny) return ` ${p2(PAPER.lmTiny[schedule as keyof typeof PAPER.lmTiny])}`;
    if (scale === "small" && schedule in PAPER.lmSmall) return ` ${p2(PAPER.lmSmall[schedule as keyof typeof PAPER.lmSmall])}`;
    return "";
  };
  for (const [scale, best] of Object.entries(PAPER_BEST_LM_SCHEDULE)) {
    const Scale = scale[0].toUpperCase() + scale.slice(1);
    for (const b of moe.filter((g) => g.config.scale === scale && g.schedule === best)) {
      // Budget-matched schedules are held against the same comparison under the same budget rule (uniform is its own match).
      const others = moe.filter((o) => o !== b && o.schedule !== best && sameExcept(b, o, ["schedule", "experts", "budget"]) && (o.schedule === "uniform" || b.schedule === "uniform" || o.config.budget === b.config.budget));
      for (const o of others) {
        const numbers = paperNumber(scale, best) && paperNumber(scale, String(o.schedule)) ? `, ${best}${paperNumber(scale, best)} vs ${o.schedule}${paperNumber(scale, String(o.schedule))}` : "";
        compare(b, best, o, String(o.schedule), `${Scale}: ${best} best${numbers}${numbers ? "" : " (no number)"}`);
      }
      const dense = densePartner(b, groups);
      if (!dense) continue;
      if (scale === "tiny") compare(dense, "dense", b, best, "Tiny: the dense MLP better still [review] (no number)");
      else if (scale === "small") compare(b, best, dense, "dense", `Small: ascending ${p2(PAPER.lmSmall.ascending)} vs MLP ${p2(PAPER.lmSmall.dense)}`);
      else compare(b, best, dense, "dense", "Medium: uniform best (no dense number)");
    }
  }
  return {
    id: 4,
    title: "Language models: perplexity by schedule and scale",
    paper: `Tiny: descending best, ${p2(PAPER.lmTiny.descending)} vs uniform ${p2(PAPER.lmTiny.uniform)}, dense better still [review]; Small: ascending ${p2(PAPER.lmSmall.ascending)} vs MLP ${p2(PAPER.lmSmall.dense)}; Medium: uniform best (numbers unknown). Recycling-the-Web, GPT-2 BPE, no attention`,
    rows,
    verdict: claimVerdict(rows),
    parts: partVerdicts(rows),
    howToRun: "dynamoe reproduce paper --only lm, or dynamoe train --task lm --scale tiny|small|medium --model dense|moe --schedule ... --seed 0..2",
  };
}

/** One verdict per part (`sotu, tiny`) from the counted rows of each, in the order the parts first appear. */
function partVerdicts(rows: ClaimRow[]): { part: string; verdict: Verdict }[] {
  const parts = [...new Set(rows.filter((r) => r.counted && r.part).map((r) => r.part!))];
  return parts.map((part) => ({ part, verdict: combineVerdicts(rows.filter((r) => r.counted && r.part === part).map((r) => r.verdict)) }));
}

/** A run's gradient variance: the mean over its recorded steps of the total (trace of the gradient covariance). */
function runGradVariance(lines: { total: number }[]): number {
  return lines.reduce((s, l) => s + l.total, 0) / lines.length;
}

/** Claim 5: dynamic routing reduces gradient variance (vs top-k and dense). */
function claimGradVariance(c: Collection): Claim {
  const groups = finished(c.groups).filter((g) => g.gradVariance.length > 0);
  const gv = (g: RunGroup) => meanStd(g.gradVariance.map((s) => runGradVariance(s.lines)));
  const rows: ClaimRow[] = [];
  const dynamic = ["percentile", "batch-percentile", "top-p", "threshold", "expert-choice"];
  for (const dyn of groups.filter((g) => g.model === "moe" && dynamic.includes(String(g.router)))) {
    const partners: [RunGroup | undefined, string][] = [
      [groups.find((t) => t.model === "moe" && t.router === "topk" && sameExcept(dyn, t, ["router", "layerRouters"])), "top-k"],
      [densePartner(dyn, groups), "dense"],
    ];
    for (const [other, name] of partners) {
      if (!other) continue;
      const [a, b] = [gv(dyn), gv(other)];
      const ours = `${withN(String(dyn.router), a, 4)} vs ${withN(name, b, 4)} (mean over recorded steps)`;
      rows.push(row(contextOf(dyn, dyn.schedule ? [`schedule=${dyn.schedule}`] : []), "lower for dynamic routing (no number)", ours, compareVerdict(a, b, "lower"), isPaperSetting(dyn) && other.config.attention !== true));
    }
  }
  return {
    id: 5,
    title: "Dynamic routing reduces gradient variance",
    paper: "dynamic routing reduces gradient variance during training, for more stable convergence (no number given; method unknown)",
    rows,
    verdict: claimVerdict(rows),
    howToRun: "runs with grad-variance.jsonl (the gradient-variance measurement), percentile next to topk and dense, seeds 0–2",
  };
}

/** Every claim the report checks, in the spec's order (claims 2 and 6 are not experiments: the schedules exist; the theory is arithmetic). */
export function evaluateClaims(c: Collection): Claim[] {
  return [claimVariableExperts(c), claimDescendingImages(c), claimLanguageModels(c), claimGradVariance(c)];
}

/** How each claim's own numbers are made, for the report's method section. */
export function claimRules(): string[] {
  return [
    `Claim 1: per seed, the largest share over MoE layers of test tokens whose number of active experts differs from that layer's most common number; held if it is at least ${100 * VARIABLE_SHARE}% in every seed, did not hold if below ${100 * VARIABLE_SHARE}% in every seed, inconclusive otherwise.`,
    "Claim 3: final test accuracy (%) of descending against uniform, same dataset, router and every other setting.",
    "Claim 4: final validation perplexity on the whole held-out split. At each scale the schedule the paper found best (Tiny descending, Small ascending, Medium uniform) against every other schedule with the same corpus and settings, and against the dense MLP (Tiny: dense claimed better than descending; Small and Medium: the best schedule claimed better than dense). Counted: the paper's schedules (uniform, descending, ascending) and dense, budget free, percentile router, no attention; budget-matched and other schedules are shown, not counted. A verdict per corpus and scale combines that part's counted rows. Per-seed differences are shown beside the means (a seed fixes the validation split, so the same seed is the same held-out text); the verdict uses the mean ± std rule. Our corpus may differ from the paper's (Recycling-the-Web): the row says so.",
    "Claim 5: per run, the mean over its recorded steps of the total gradient variance (grad-variance.jsonl); dynamic routers against top-k and dense with the same settings. The total is a trace over all parameters, so models of different sizes are not on an equal footing.",
    "Claims 2 (six schedules exist) and 6 (expressivity, a compute bound) are not experiments and are not scored.",
  ];
}
