/**
 * The paper's experiments (spec §1) as sweep specs, plus the baselines the paper lacks (spec §8):
 *
 * - images: MNIST and Fashion-MNIST (3 epochs), CIFAR-10 (10 epochs): the dense MLP, DynaMoE
 *   (percentile router) with each of the six schedules, and top-k (k = 2), Switch, expert choice and
 *   top-p at the uniform schedule; gradient variance measured during training (spec §7);
 * - language models (`lmSpecs`): Tiny, Small and Medium (spec §4), dense and DynaMoE uniform,
 *   descending and ascending, one epoch, then our extensions of the comparison.
 *
 * - routers (`routerSpecs`): every routing rule at the uniform schedule on each image dataset.
 *
 * Every image experiment runs over 3 seeds [ours: the paper reports single runs]. `quick` keeps the
 * grid (so every comparison of the report can be made) but cuts steps and evaluation, runs the
 * language models at Tiny only, and one seed of them; its report says so on every page.
 */
import { ROUTER_KINDS } from "../moe/routers/registry.js";
import type { SweepSpecInput } from "../sweep/spec.js";

export type PaperSpec = { name: string; spec: SweepSpecInput };

export const IMAGE_EPOCHS = { mnist: 3, "fashion-mnist": 3, cifar10: 10 } as const;
export const PAPER_SCHEDULES = ["uniform", "descending", "ascending", "pyramid", "wave", "valley"] as const;
export const BASELINE_ROUTERS = ["topk", "switch", "expert-choice", "top-p"] as const;
export const LM_SCALES_RUN = ["tiny", "small", "medium"] as const;
/** The paper's language-model comparison (spec §4): these schedules and the dense MLP. */
export const LM_PAPER_SCHEDULES = ["uniform", "descending", "ascending"] as const;
/** Routers whose k varies per token, run beside the percentile rule on language models [ours]. */
export const LM_DYNAMIC_ROUTERS = ["top-p", "threshold", "expert-choice"] as const;

export type PaperOptions = {
  quick: boolean;
  /** Language-model corpus (the paper's is Recycling-the-Web; the default data is SOTU). */
  corpus: string;
};

/** Steps and evaluation sizes of `--quick`. */
export const QUICK = { imageSteps: 40, imageTest: 1000, lmSteps: 8, lmValidationSequences: 16, gradVarianceEvery: 20, gradVarianceK: 4 } as const;

export function paperSpecs(opts: PaperOptions): PaperSpec[] {
  const seeds = [0, 1, 2];
  const specs: PaperSpec[] = [];
  for (const [dataset, epochs] of Object.entries(IMAGE_EPOCHS)) {
    const base: Record<string, unknown> = opts.quick
      ? { dataset, maxSteps: QUICK.imageSteps, testLimit: QUICK.imageTest, logEvery: 10, gradVariance: { every: QUICK.gradVarianceEvery, k: QUICK.gradVarianceK } }
      : { dataset, epochs, gradVariance: { every: 100, k: 8 } };
    specs.push({
      name: `images-${dataset}`,
      spec: {
        base,
        grid: { schedule: [...PAPER_SCHEDULES] },
        include: [{ model: "dense" }, ...BASELINE_ROUTERS.map((kind) => ({ router: { kind } }))],
        seeds,
      },
    });
  }
  specs.push(...routerSpecs(opts));
  specs.push(...lmSpecs(opts));
  return specs;
}

/**
 * Every routing rule side by side (issue 21) [ours]: each router kind of the registry at the uniform
 * schedule with its defaults (those of the older rules chosen on the validation split, the newer
 * ones their papers'), and aux-free over 4 segments with a shared expert (DeepSeek-V3's recipe), on
 * each image dataset, 3 seeds; the validation split is evaluated each epoch
 * and the test set once, at the end. A sweep per dataset, `routers-<dataset>`.
 */
export function routerSpecs(opts: PaperOptions): PaperSpec[] {
  return Object.entries(IMAGE_EPOCHS).map(([dataset, epochs]) => ({
    name: `routers-${dataset}`,
    spec: {
      base: opts.quick ? { dataset, maxSteps: QUICK.imageSteps, testLimit: QUICK.imageTest, logEvery: 10 } : { dataset, epochs },
      grid: { router: [...ROUTER_KINDS] },
      // DeepSeek-V3's recipe on our scale: auxiliary-loss-free balancing over fine-grained experts with one shared.
      include: [{ router: "aux-free", segments: 4, sharedExperts: 1 }],
      seeds: opts.quick ? [0] : [0, 1, 2],
    },
  }));
}

/**
 * The language-model grid (issue 23), as sweeps in the order they run, so that a partial grid is the
 * most useful one: first the paper's four models (dense, uniform, descending, ascending) at Tiny and
 * Small with seeds 0–2 and at Medium with seed 0; then, at Tiny and Small, the other three schedules
 * and every non-uniform schedule budget-matched, the routers whose k varies per token, the paper's
 * four on a second corpus (Tiny), Medium's seeds 1 and 2, and the attention variant [ours, all of
 * these]. Names are stable: a run's folder is `<spec name>/<run id>`, so a grid resumes across
 * machines. `quick` runs the paper's four at Tiny, one seed, a few steps.
 */
export function lmSpecs(opts: PaperOptions): PaperSpec[] {
  const seeds = [0, 1, 2];
  const base = (scale: string, corpus = opts.corpus): Record<string, unknown> =>
    opts.quick
      ? { task: "lm", corpus, scale, maxSteps: QUICK.lmSteps, testLimit: QUICK.lmValidationSequences, logEvery: 4 }
      : { task: "lm", corpus, scale, epochs: 1 };
  const paper = (scale: string, seedList: number[], extra: Record<string, unknown> = {}, corpus?: string): SweepSpecInput => ({
    base: { ...base(scale, corpus), ...extra },
    grid: { schedule: [...LM_PAPER_SCHEDULES] },
    include: [{ model: "dense" }],
    seeds: seedList,
  });
  if (opts.quick) return [{ name: "lm-tiny", spec: paper("tiny", [0]) }];
  const second = opts.corpus === "gutenberg" ? "sotu" : "gutenberg";
  const extended = (scale: string): PaperSpec[] => [
    {
      // The three schedules the paper ran on images only, and every non-uniform one budget-matched.
      name: `lm-${scale}-schedules`,
      spec: {
        base: base(scale),
        grid: { schedule: PAPER_SCHEDULES.filter((x) => !(LM_PAPER_SCHEDULES as readonly string[]).includes(x)) },
        include: PAPER_SCHEDULES.filter((x) => x !== "uniform").map((schedule) => ({ schedule, budget: "matched" })),
        seeds,
      },
    },
    { name: `lm-${scale}-routers`, spec: { base: { ...base(scale), schedule: "uniform" }, grid: { router: [...LM_DYNAMIC_ROUTERS] }, seeds } },
  ];
  return [
    { name: "lm-tiny", spec: paper("tiny", seeds) },
    { name: "lm-small", spec: paper("small", seeds) },
    { name: "lm-medium", spec: paper("medium", [0]) },
    ...extended("tiny"),
    ...extended("small"),
    { name: `lm-tiny-${second}`, spec: paper("tiny", seeds, {}, second) },
    { name: "lm-medium-seeds", spec: paper("medium", [1, 2]) },
    { name: "lm-tiny-attention", spec: paper("tiny", seeds, { attention: true }) },
    { name: "lm-small-attention", spec: paper("small", seeds, { attention: true }) },
  ];
}
