/**
 * The `dynamoe` command line: `train`, `eval`, `inspect`, `data fetch`. A user's mistake prints one line and
 * exits non-zero; only bugs print a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { defaultConfig, resolveConfig } from "../train/config.js";
import { HOST_ROUTER_KINDS, ROUTER_KINDS, ROUTING_RULES } from "../moe/routers/registry.js";
import { SCHEDULE_KINDS } from "../moe/schedules.js";
import { DISPATCH_MODES } from "../moe/dispatchPlan.js";
import { ENGINES } from "../steps/makeTrainer.js";
import { evalCommand } from "./evalCommand.js";
import { inspectCommand } from "./inspectCommand.js";
import { dataFetchCommand } from "./dataCommand.js";
import { trainCommand } from "./trainCommand.js";
import type { SweepFlags } from "./sweepCommand.js";

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function intArg(name: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  };
}

function numArg(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

function expertsArg(v: string): number[] {
  const parts = v.split(",").map((s) => Number(s.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError(`--experts must be a comma-separated list of positive integers, e.g. 8,4,4,2; got "${v}"`);
  }
  return parts;
}

function layerRoutersArg(v: string): string[] {
  const kinds = v.split(",").map((s) => s.trim());
  const bad = kinds.find((k) => !(ROUTER_KINDS as readonly string[]).includes(k));
  if (bad !== undefined) throw new InvalidArgumentError(`--layer-routers: unknown router "${bad}" (one of ${ROUTER_KINDS.join(", ")})`);
  return kinds;
}

/** The routers, one line each, for `train --help` (from the rule registry). */
function routersHelp(): string {
  const width = Math.max(...ROUTER_KINDS.map((k) => k.length));
  return ["", "Routers (--router, --layer-routers; docs/routers.md):", ...ROUTER_KINDS.map((k) => `  ${k.padEnd(width)}  ${ROUTING_RULES[k].summary}`)].join("\n");
}

function capacityArg(v: string): "exact" | number {
  if (v === "exact") return v;
  const n = Number(v);
  if (v.trim() === "" || !(n > 0)) throw new InvalidArgumentError(`--dispatch-capacity must be "exact" or a positive number, got "${v}"`);
  return n;
}

/** A few commands per command, shown at the end of its --help. */
const EXAMPLES: Record<string, string[]> = {
  train: [
    "train                                         # DynaMoE on MNIST with the spec's defaults",
    "train --schedule descending --epochs 3 --seed 1",
    "train --router top-p --set router.p=0.6 --set d=64",
    "train --data my-images/ --model dense        # your own folder: train/<class>/*.png, test/<class>/*.png",
    "train --data digits.npz --model dense        # your own arrays: x_train, y_train, x_test, y_test (.npz, .safetensors or a folder of .npy)",
    "train --task lm --scale small --attention",
    "train --resume runs/mnist-moe-percentile-uniform-seed0",
  ],
  eval: ["eval runs/mnist-moe-percentile-uniform-seed0"],
  generate: ['generate runs/lm-sotu-moe-percentile-uniform-seed0 --prompt "The state of the Union"'],
  predict: ["predict runs/my-images-dense-seed0 cat.png dog.png --json"],
  export: [
    "export runs/mnist-moe-percentile-uniform-seed0   # then: import dynamoe_model; dynamoe_model.load(DIR/pytorch)",
    "export runs/lm-sotu-moe-percentile-uniform-seed0 # a language model: model(tokens) gives [B, S, vocab] logits",
  ],
  inspect: ["inspect runs/mnist-moe-percentile-uniform-seed0 --no-plots"],
  compare: ["compare runs/a runs/b --json"],
  sweep: ["sweep examples/sweeps/routers-mnist.yaml --dry-run", "sweep examples/sweeps/routers-mnist.yaml --jobs 2 --shard 0/4"],
  reproduce: ["reproduce paper --quick", "reproduce paper --only lm-tiny"],
  results: ["results runs/sweeps/routers-mnist --json"],
  report: ["report results/paper --out /tmp/report.html"],
  board: ["board runs/ --port 0"],
  archive: ["archive $DYNAMOE_RUNS/reproduce-paper results/paper"],
};

/** A command's run folder, given as its argument or by the older `--run DIR`. */
function runFolderArg(command: string, positional: string | undefined, flag: string | undefined): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) throw new UserError(`${command}: two run folders given (${positional} and --run ${flag}); give one`);
  const run = positional ?? flag;
  if (run === undefined) throw new UserError(`${command}: which run? give its folder: dynamoe ${command} RUN`);
  return run;
}

export function buildProgram(): Command {
  // The defaults --help shows are the configuration's own (one definition).
  const D = defaultConfig();
  const LM_DEFAULTS = resolveConfig({ task: "lm" });
  const program = new Command("dynamoe")
    .description("Mixture-of-Experts with dynamic expert activation (DynaMoE) on jax-js")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    // One line per error, commander's "(Did you mean ...?)" kept on it.
    .configureOutput({ outputError: (str, write) => write(str.split("\n").map((l) => l.trim()).filter(Boolean).join(" ") + "\n") });

  program
    .command("train")
    .description("train an image classifier or a language model (dense or MoE) and write a run folder")
    .addOption(new Option("--task <task>", `image classification or next-token language modelling (default ${D.task})`).choices(["image", "lm"]))
    .option("--dataset <name>", "image dataset: mnist, fashion-mnist, cifar10, or your own data (see --data)")
    .option("--data <path>", "your own data (the same as --dataset <path>): a folder with train/<class>/*.png and test/<class>/*.png, or arrays x_train, y_train, x_test, y_test as a folder of .npy files, an .npz file or a .safetensors file")
    .option("--corpus <name>", "lm: sotu (default), gutenberg, recycling-the-web-1k, or a .txt/.jsonl/.parquet file")
    .addOption(new Option("--scale <size>", "lm: size preset (tiny d=64 L=2, small d=128 L=4, medium d=256 L=6; h = 2d)").choices(["tiny", "small", "medium"]))
    .option("--attention", "lm: causal self-attention before each MoE block (ours; the paper has none)")
    .option("--context <n>", "lm: positions per sequence (default 128)", intArg("--context", 1))
    .option("--eval-limit <n>", "evaluate on the first n test examples (lm: validation sequences) only", intArg("--eval-limit", 1))
    .option("--validation <n>", "images: training images held out as the validation split, evaluated every epoch (default: 5000, or a tenth of a smaller training split; 0: none, then the test set every epoch); the test set is evaluated once, at the end", intArg("--validation", 0))
    .option("--eval-every <n>", "also evaluate on the validation split every n steps", intArg("--eval-every", 1))
    .option("--keep-best", "keep the state of the best validation evaluation in best.safetensors and report the test set on it")
    .addOption(new Option("--model <kind>", `dense MLP or Mixture-of-Experts (default ${D.model})`).choices(["dense", "moe"]))
    .addOption(new Option("--router <kind>", `routing rule (default ${D.router.kind})`).choices([...ROUTER_KINDS]))
    .option("--layer-routers <list>", "a router per layer, e.g. switch,switch,top-p,top-p (over --router's settings)", layerRoutersArg)
    .addOption(new Option("--schedule <kind>", `experts per layer over depth (default ${D.schedule}; E_max ${D.eMax}, E_min ${D.eMin})`).choices([...SCHEDULE_KINDS]))
    .addOption(new Option("--dispatch <mode>", `expert computation: auto picks dense-masked or sparse by cost (default ${D.dispatch})`).choices([...DISPATCH_MODES]))
    .option("--dispatch-capacity <f>", 'slots per expert: "exact" or a capacity factor f (C = ⌈f·T/N⌉, overflow dropped)', capacityArg)
    .option("--experts <list>", "explicit experts per layer, e.g. 8,4,4,2 (implies --schedule custom)", expertsArg)
    .option("--segments <m>", `fine-grained experts (DeepSeekMoE): each expert split into m of h/m, a router's k becomes m·k (default ${D.segments})`, intArg("--segments", 1))
    .option("--shared-experts <s>", `always-on shared experts beside the routed ones in every MoE block (DeepSeekMoE; default ${D.sharedExperts})`, intArg("--shared-experts", 0))
    .addOption(new Option("--budget <mode>", `matched: rescale the schedule to uniform's L·E_max experts in all, keeping its shape (default ${D.budget})`).choices(["free", "matched"]))
    .option("--epochs <n>", `training epochs (default ${D.epochs})`, intArg("--epochs", 1))
    .option("--seed <n>", `random seed (default ${D.seed})`, intArg("--seed", 0))
    .option("--lr <x>", `peak learning rate (default ${D.lr}, ${D.warmupSteps} warm-up steps, cosine to ${D.minLrRatio}×)`, numArg("--lr"))
    .option("--batch-size <n>", `training batch size (default ${D.batchSize}; lm ${LM_DEFAULTS.batchSize})`, intArg("--batch-size", 1))
    .option("--max-steps <n>", "stop after n steps (quick runs)", intArg("--max-steps", 1))
    .option("--config <file>", "JSON or YAML file with any configuration key (d, h, layers, eMax, eMin, router{...}, lr, ...)")
    .option("--set <key=value>", "any configuration key, dotted for nested ones, the value read as YAML (repeatable; applied last): --set d=64 --set router.tau=30 --set experts=[8,4,4,2]", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--out <dir>", "run folder (default: runs/<dataset or corpus>-<model>-<schedule>-seed<seed>)")
    .option("--resume <dir>", "continue the run in <dir> from its last checkpoint")
    .option("--data-dir <dir>", "read the dataset's files from <dir>")
    .addOption(
      new Option(
        "--engine <engine>",
        `what runs the training step: native (our WebAssembly SIMD kernels; image models with the ${HOST_ROUTER_KINDS.join(", ")} routers, on the CPU), jax (jax-js's compiled step: every model, CPU or WebGPU), auto: native where it can`,
      ).choices([...ENGINES]),
    )
    .option("--threads <n>", "threads (default: every core for the native engine, 1 for jax-js; see docs/performance.md)")
    .addOption(new Option("--device <device>", "wasm (CPU, default) or webgpu (a GPU through the `webgpu` package; docs/performance.md)").choices(["wasm", "webgpu"]))
    .addOption(new Option("--step-kernel <kind>", "the old name of --engine (jit is jax)").hideHelp())
    .addHelpText("after", routersHelp())
    .action(async (opts) => trainCommand(opts));

  program
    .command("generate")
    .description("sample text from a trained language model")
    .argument("[run]", "run folder of a --task lm run")
    .addOption(new Option("--run <dir>", "the run folder (the older form of the argument)").hideHelp())
    .option("--prompt <text>", "text to continue", "")
    .option("--tokens <n>", "tokens to generate (default 100)", intArg("--tokens", 1))
    .option("--temperature <t>", "sampling temperature; 0 picks the most likely token (default 0.8)", numArg("--temperature"))
    .option("--top-k <k>", "sample among the k most likely tokens; 0 for all (default 40)", intArg("--top-k", 0))
    .option("--seed <n>", "random seed of the sampler (default 0)", intArg("--seed", 0))
    .option("--threads <n>", "threads (default: every core for the native engine, 1 for jax-js; see docs/performance.md)")
    .addOption(new Option("--device <device>", "wasm (CPU, default) or webgpu (a GPU through the `webgpu` package; docs/performance.md)").choices(["wasm", "webgpu"]))
    .action(async (run: string | undefined, opts) => (await import("./generateCommand.js")).generateCommand({ ...opts, run: runFolderArg("generate", run, opts.run) }));

  program
    .command("eval")
    .description("re-evaluate a saved run's checkpoint: an image run on its test set, a language model on its validation text (on the run's engine)")
    .argument("[run]", "run folder")
    .addOption(new Option("--run <dir>", "the run folder (the older form of the argument)").hideHelp())
    .option("--data-dir <dir>", "read the dataset's files from <dir>")
    .option("--threads <n>", "threads (default: every core for the native engine, 1 for jax-js; see docs/performance.md)")
    .addOption(new Option("--device <device>", "wasm (CPU, default) or webgpu (a GPU through the `webgpu` package; docs/performance.md)").choices(["wasm", "webgpu"]))
    .action(async (run: string | undefined, opts) => evalCommand({ ...opts, run: runFolderArg("eval", run, opts.run) }));

  program
    .command("predict")
    .description("classify PNG images with a trained image run: each file's predicted class and its probability")
    .argument("<run>", "run folder")
    .argument("<files...>", "PNG images of the run's size")
    .option("--json", "print JSON")
    .action(async (run: string, files: string[], opts: { json?: boolean }) => (await import("./predictCommand.js")).predictCommand(run, files, opts));

  program
    .command("export")
    .description("write a trained run (image or language model) for PyTorch: weights in its state-dict layout, the model's shape and a Python module defining it (into <run>/pytorch)")
    .argument("<run>", "run folder")
    .option("--format <format>", "pytorch (the only one)", "pytorch")
    .option("--out <dir>", "folder to write (default <run>/pytorch)")
    .action(async (run: string, opts: { format?: string; out?: string }) => (await import("./exportCommand.js")).exportCommand(run, opts));

  program
    .command("inspect")
    .description("summarise a run's routing (per layer) and write plots into <run>/plots/")
    .argument("<run>", "run folder")
    .option("--no-plots", "print the summary only")
    .option("--json", "print the latest evaluation's per-layer routing analytics as JSON (no plots)")
    .action(async (run: string, opts: { plots?: boolean; json?: boolean }) => inspectCommand(run, opts));

  program
    .command("sweep")
    .description("run a grid of training runs from a YAML spec (docs/sweeps.md); re-running skips finished runs and resumes interrupted ones")
    .argument("<spec>", "sweep spec (YAML): base, grid, include, seeds, out")
    .option("--shard <i/n>", "run only shard i of n (0-based, 0 ≤ i < n): every n-th run by id, for job arrays")
    .option("--jobs <n>", "runs at once, each a process with one wasm thread (default 1)", intArg("--jobs", 1))
    .option("--threads <n>", "threads per run (default: the cores shared out among the runs at once)")
    .option("--out <dir>", "folder of the run folders (default: the spec's out, else runs/sweeps/<spec name>)")
    .option("--dry-run", "list the runs and which are finished, without running")
    .action(async (spec: string, opts: SweepFlags) => (await import("./sweepCommand.js")).sweepCommand(spec, opts));

  program
    .command("reproduce")
    .description("run the paper's experiments and our baselines (3 seeds) as sweeps, then write results and the report (docs/report.md)")
    .argument("<what>", "experiment set: paper")
    .option("--quick", "fewer steps, Tiny language models only, one LM seed: under 15 minutes on 2 cores; every report page says so")
    .option("--jobs <n>", "runs at once, each a process with one wasm thread (default 1)", intArg("--jobs", 1))
    .option("--corpus <name>", "language-model corpus (default sotu; the paper's is recycling-the-web-1k)")
    .option("--shard <i/n>", "run only shard i of n of every sweep (0-based), for job arrays; build the report after merging")
    .option("--out <dir>", "root folder (default runs/reproduce-paper, or runs/reproduce-paper-quick)")
    .option("--only <part>", "run only one part: images or lm (the report covers every run under the root folder)")
    .option("--dry-run", "write the specs and list the runs, without running")
    .option("--threads <n>", "threads per run (default: the cores shared out among the runs at once)")
    .action(async (what: string, opts: import("./reproduceCommand.js").ReproduceFlags) => (await import("./reproduceCommand.js")).reproduceCommand(what, opts));

  program
    .command("results")
    .description("table of every run under <dir>, seeds pooled (mean ± std), also written as CSV")
    .argument("<dir>", "folder of run folders (searched recursively)")
    .option("--csv <file>", "CSV path (default <dir>/results.csv)")
    .option("--json", "print the groups as JSON (the CSV's fields) instead of the table")
    .action(async (dir: string, opts: { csv?: string; json?: boolean }) => (await import("./resultsCommand.js")).resultsCommand(dir, opts));

  program
    .command("archive")
    .description("copy each finished run's config, summary, metrics and split (never the checkpoint) from <runs> to the same paths under <results>, for committing; reruns copy only what is new")
    .argument("<runs>", "folder of run folders (searched recursively), e.g. $DYNAMOE_RUNS/reproduce-paper")
    .argument("<results>", "results folder, e.g. results/paper")
    .action(async (runs: string, results: string) => (await import("./archiveCommand.js")).archiveCommand(runs, results));

  program
    .command("compare")
    .description("two runs side by side: the configuration keys that differ, then their final numbers")
    .argument("<runA>", "run folder")
    .argument("<runB>", "run folder")
    .option("--json", "print JSON instead of a table")
    .action(async (a: string, b: string, opts: { json?: boolean }) => (await import("./compareCommand.js")).compareCommand(a, b, opts));

  program
    .command("board")
    .description("a local web page listing every run under [dir] with its curves and routing, live while runs train (localhost only)")
    .argument("[dir]", "folder of run folders (searched recursively; default runs)")
    .option("--port <n>", "port on 127.0.0.1 (default 6060; 0: any free port)", intArg("--port", 0))
    .action(async (dir: string | undefined, opts: { port?: number }) => (await import("./boardCommand.js")).boardCommand(dir, opts));

  program
    .command("report")
    .description("self-contained HTML report (and report.md) of every run under <dir>: the paper's claims with verdicts, charts, commands")
    .argument("<dir>", "folder of run folders (searched recursively)")
    .option("--out <file>", "HTML path (default <dir>/report.html; the Markdown twin goes beside it)")
    .action(async (dir: string, opts: { out?: string }) => (await import("./reportCommand.js")).reportCommand(dir, opts));

  const analyze = program.command("analyze").description("analyses of a saved run");
  analyze
    .command("grad-variance")
    .description("trace of the mini-batch gradient covariance per parameter group at the run's checkpoint (spec §7); writes <run>/grad-variance-final.json")
    .argument("<run>", "run folder")
    .option("--k <n>", "mini-batch gradients to take (default: the run's gradVariance.k, else 8)", intArg("--k", 2))
    .option("--steps <list>", 'steps to measure: "all" kept checkpoints (a run keeps only its latest) or N,...', "all")
    .action(async (run: string, opts: { k?: number; steps?: string }) => (await import("./analyzeCommand.js")).gradVarianceCommand(run, opts));

  const data = program.command("data").description("datasets");
  data
    .command("fetch")
    .description("download a dataset into the cache (cifar10: the official binary tarball; recycling-the-web-1k: the DynaMoE paper's 1,000 documents)")
    .argument("<name>", "dataset name: cifar10, recycling-the-web-1k")
    .option("--url <url>", "fetch from <url> instead (recycling-the-web-1k: also a file:// URL or a local .parquet/.jsonl path)")
    .action(async (name: string, opts: { url?: string }) => dataFetchCommand(name, opts));

  for (const cmd of program.commands) {
    const examples = EXAMPLES[cmd.name()];
    if (examples) cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ dynamoe ${e}`).join("\n")}\n`);
  }
  program.exitOverride();
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed as one line.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    }
    if (err instanceof UserError) {
      process.stderr.write(`dynamoe: ${err.message.split("\n")[0]}\n`);
      return err.name === "InterruptedError" ? 130 : 1;
    }
    throw err;
  }
}
