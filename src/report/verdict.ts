/**
 * The rule that turns two groups' mean ± std into a verdict on a claim "A beats B", and the rule that
 * combines several comparisons into one verdict for a claim. Documented in docs/report.md.
 *
 * One comparison, A claimed better than B:
 * - **not run**: A or B has no finished run;
 * - **inconclusive**: A or B has fewer than 2 seeds (no spread to judge by), or the intervals
 *   `[mean − std, mean + std]` of A and B overlap;
 * - **held**: the intervals are apart and A is better (higher accuracy, lower perplexity or variance);
 * - **did not hold**: the intervals are apart and B is better.
 */
import type { MeanStd } from "./meanStd.js";

export type Verdict = "held" | "did not hold" | "inconclusive" | "not run";

export type Judgement = { verdict: Verdict; why: string };

/** Seeds a side needs before its spread means anything. */
export const MIN_SEEDS = 2;

/** Verdict on "A beats B", where `better` says whether higher or lower values are better. */
export function compareVerdict(a: MeanStd, b: MeanStd, better: "higher" | "lower"): Judgement {
  if (a.mean === null || b.mean === null || a.n === 0 || b.n === 0) return { verdict: "not run", why: "a side has no finished run" };
  if (a.n < MIN_SEEDS || b.n < MIN_SEEDS || a.std === null || b.std === null) {
    return { verdict: "inconclusive", why: `fewer than ${MIN_SEEDS} seeds on a side (n = ${a.n} vs ${b.n}): no spread to judge by` };
  }
  const [aLo, aHi, bLo, bHi] = [a.mean - a.std, a.mean + a.std, b.mean - b.std, b.mean + b.std];
  if (aLo <= bHi && bLo <= aHi) return { verdict: "inconclusive", why: "the mean ± std intervals overlap" };
  const aBetter = better === "higher" ? a.mean > b.mean : a.mean < b.mean;
  return aBetter ? { verdict: "held", why: "intervals apart, the claimed side better" } : { verdict: "did not hold", why: "intervals apart, the other side better" };
}

/**
 * One verdict from several comparisons: `not run` when there are none; else `did not hold` if any did
 * not hold, `inconclusive` if any was inconclusive, and `held` only when every comparison held.
 */
export function combineVerdicts(verdicts: Verdict[]): Verdict {
  const ran = verdicts.filter((v) => v !== "not run");
  if (ran.length === 0) return "not run";
  if (ran.includes("did not hold")) return "did not hold";
  if (ran.includes("inconclusive")) return "inconclusive";
  return "held";
}

/** The rules above in words, for the report's "how the verdicts are computed" section. */
export function verdictRules(): string[] {
  return [
    `A comparison "A beats B" pairs two groups whose configurations are equal except for what the claim compares (schedule, router, or dense vs MoE).`,
    `not run: A or B has no finished run in the folder.`,
    `inconclusive: A or B has fewer than ${MIN_SEEDS} seeds (no spread to judge by), or the intervals mean ± one sample std of A and B overlap.`,
    `held: the intervals are apart and A is better (higher accuracy; lower perplexity or gradient variance).`,
    `did not hold: the intervals are apart and B is better.`,
    `A claim's verdict combines its comparisons in the paper's setting (percentile router, no attention): held only if every one held; did not hold if any did not; else inconclusive; not run if there are none. Comparisons outside that setting are shown, marked "not counted".`,
  ];
}
