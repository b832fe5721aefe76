/**
 * The paper's experiments (spec §1) as sweep specs, plus the baselines the paper lacks (spec §8):
 *
 * - images: MNIST and Fashion-MNIST (3 epochs), CIFAR-10 (10 epochs): the dense MLP, DynaMoE
 *   (percentile router) with each of the six schedules, and top-k (k = 2), Switch, expert choice and
 *   top-p at the uniform schedule; gradient variance measured during training (spec §7);
 * - language models: Tiny, Small and Medium (spec §4), dense and DynaMoE uniform, descending and
 *   ascending, one epoch.
 *
 * Every experiment runs over 3 seeds [ours: the paper reports single runs]. `quick` keeps the grid
 * (so every comparison of the report can be made) but cuts steps and evaluation, runs the language
 * models at Tiny only, and one seed of them; its report says so on every page.
 */
import type { SweepSpecInput } from "../sweep/spec.js";

export type PaperSpec = { name: string; spec: SweepSpecInput };

export const IMAGE_EPOCHS = { mnist: 3, "fashion-mnist": 3, cifar10: 10 } as const;
export const PAPER_SCHEDULES = ["uniform", "descending", "ascending", "pyramid", "wave", "valley"] as const;
export const BASELINE_ROUTERS = ["topk", "switch", "expert-choice", "top-p"] as const;
export const LM_SCALES_RUN = ["tiny", "small", "medium"] as const;

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
  const scales = opts.quick ? ["tiny"] : [...LM_SCALES_RUN];
  specs.push({
    name: "language-models",
    spec: {
      base: opts.quick
        ? { task: "lm", corpus: opts.corpus, maxSteps: QUICK.lmSteps, testLimit: QUICK.lmValidationSequences, logEvery: 4 }
        : { task: "lm", corpus: opts.corpus, epochs: 1 },
      grid: { scale: scales, schedule: ["uniform", "descending", "ascending"] },
      include: scales.map((scale) => ({ scale, model: "dense" })),
      seeds: opts.quick ? [0] : seeds,
    },
  });
  return specs;
}
