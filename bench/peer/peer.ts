/**
 * `npm run bench -- --peer pytorch`: our training step against the same model's in PyTorch on the
 * CPU, run in the same process tree and the same minutes, as ratios ours / PyTorch.
 *
 *   npm run bench -- --peer pytorch [--threads N] [--rounds 3] [--steps 10] [--lm-steps 2] [--warmup 3]
 *                    [--models dense,moe-uniform,moe-descending,moe-switch,lm-tiny] [--json FILE] [--no-install] [--engine auto|native|jax]
 *
 * For each model (`peerSpec.ts`):
 *   1. our timing server starts (`ours.ts`: compile and warm-up) and describes its model;
 *   2. the PyTorch mirror (`peer/pytorch_models.py --check`) builds the same model, and the bench
 *      stops with an error unless both sides have the same parameter count, and PyTorch's float32
 *      gradients match a float64 copy (for each of its two MoE formulations, "simple" and "loop");
 *   3. two PyTorch timing servers start, "simple" (every expert on every token, masked) and "loop"
 *      (Mixtral's loop over experts with index_select / index_add_);
 *   4. rounds: in each, ours, simple and loop each run `--steps` steps in turn (the order rotates from
 *      round to round), so machine noise falls on all three alike. Each column is the median of all
 *      its timed steps; the ratio is ours over the faster PyTorch formulation.
 * Both sides get the same thread count: ours `DYNAMOE_THREADS` (the native engine's kernel pool),
 * PyTorch `torch.set_num_threads` plus OMP/OpenBLAS/MKL_NUM_THREADS. With more than one thread,
 * PyTorch's two formulations also run on one thread in the same rounds, and the ratio is against
 * the fastest of the four: on some machines PyTorch's small ops get slower with a second thread
 * (`docs/performance.md`), and PyTorch at its best is then PyTorch on one. Peak RSS is each process's own.
 *
 * PyTorch at its best: where the environment caps OpenBLAS at older kernels (`OPENBLAS_CORETYPE`,
 * `OPENBLAS_L2_SIZE`, see `torch.ts`), both are unset for the PyTorch processes only, and the bench
 * prints the OpenBLAS core each way. The float64 gradient check guards against the wrong results
 * the caps exist for; if it fails uncapped, that model falls back to the caps and says so.
 */
import { writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { reportMachineLoad } from "../machine.js";
import { PEER_MODELS, peerTarget, type PeerSpec } from "./spec.js";
import { findTorch, LineProcess, openblasCaps, TORCH_SCRIPT, torchEnv, torchInfo, type TorchInfo } from "./torch.js";
import { spawnSync } from "node:child_process";

/** The timed processes: ours, PyTorch's two formulations, and (more than one thread) both again on one thread. */
type Side = "ours" | "simple" | "loop" | "simple1" | "loop1";
type Ready = { ready: true; params: number; spec?: PeerSpec; threads: number; firstStepMs: number | null; plan?: string };
type Times = { times: number[] };
type Peak = { peakRssMb: number };
type VariantCheck = { loss32: number; loss64: number; worstParam: string; worstRelErr: number; ok: boolean };
/** What `pytorch_models.py --check` prints. */
export type TorchCheck = {
  params: { simple: number; loop: number };
  geluProbe: Record<string, number | string>;
  attempts: ({ gelu: string } & Record<"simple" | "loop", VariantCheck>)[];
  gelu: string | null;
  simpleVsLoopRelErr: number;
  ok: boolean;
};

export type PeerRow = {
  model: string;
  params: number;
  plan: string;
  oursMs: number;
  simpleMs: number | null;
  loopMs: number | null;
  ratio: number | null;
  target: number;
  met: boolean | null;
  /** With more than one thread: PyTorch's two formulations on one thread (in the same rounds), else null. */
  oneThread: { simpleMs: number; loopMs: number } | null;
  /** Which PyTorch run the ratio is against: `simple` or `loop`, and ` on 1 thread` where that was faster. */
  fasterRun: string | null;
  rssMb: { ours: number; simple: number | null; loop: number | null };
  steps: Record<Side, number[]>;
  gelu: string | null;
  gradCheck: TorchCheck | null;
  /** Whether PyTorch ran without the environment's OpenBLAS caps (false: its check failed there, or none were set). */
  openblasUncapped: boolean;
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Run the mirror's parameter-count and gradient check for a model description. */
export function torchCheck(python: string, spec: PeerSpec, threads: number, checkBatch?: number, best = true): TorchCheck {
  const args = [TORCH_SCRIPT, "--check", "--spec", JSON.stringify(spec), "--threads", String(threads)];
  if (checkBatch) args.push("--check-batch", String(checkBatch));
  const r = spawnSync(python, args, { encoding: "utf8", env: torchEnv(threads, best), maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`pytorch_models.py --check failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as TorchCheck;
}

/** One line per GELU attempt: the worst float32/float64 gradient error of each formulation. */
function describeCheck(c: TorchCheck): string {
  const attempts = c.attempts.map((a) => `gelu=${a.gelu}: simple ${a.simple.worstRelErr.toExponential(1)} (${a.simple.worstParam}), loop ${a.loop.worstRelErr.toExponential(1)} (${a.loop.worstParam})`);
  return `${attempts.join("; ")}; simple vs loop (float64) ${c.simpleVsLoopRelErr.toExponential(1)}`;
}

async function timeModel(
  name: string,
  target: number,
  torch: { python: string; info: TorchInfo } | null,
  o: { threads: number; rounds: number; steps: number; warmup: number; engine: string },
): Promise<PeerRow> {
  const isLm = name.startsWith("lm-");
  /** PyTorch at its best (without OPENBLAS_CAPS) unless its gradient check fails there. */
  let best = true;
  const ours = new LineProcess(`ours ${name}`, process.execPath, ["--import", "tsx", "bench/peer/ours.ts", "--model", name, "--warmup", String(o.warmup), "--engine", o.engine], {
    ...process.env,
    DYNAMOE_THREADS: String(o.threads),
  });
  const procs: LineProcess[] = [ours];
  try {
    const oursReady = await ours.next<Ready>();
    let check: TorchCheck | null = null;
    const servers: { variant: Side; proc: LineProcess }[] = [];
    if (torch) {
      // Correctness before timing: same parameter count, float32 gradients = float64 gradients. At its
      // best (OPENBLAS_CAPS unset) first; if that fails and the environment caps OpenBLAS, with the caps.
      check = torchCheck(torch.python, oursReady.spec!, o.threads, isLm ? 4 : undefined, best);
      if (!check.ok && best && openblasCaps().length) {
        process.stderr.write(`${name}: PyTorch failed its float64 gradient check without ${openblasCaps().join(" ")}; falling back to the environment's setting\n`);
        best = false;
        check = torchCheck(torch.python, oursReady.spec!, o.threads, isLm ? 4 : undefined, best);
      }
      const counts = `ours ${oursReady.params}, PyTorch simple ${check.params.simple}, loop ${check.params.loop}`;
      if (check.params.simple !== oursReady.params || check.params.loop !== oursReady.params) throw new Error(`${name}: parameter counts differ: ${counts}`);
      process.stderr.write(`${name}: parameters ${counts}: equal\n${name}: gradient check (float32 vs float64, relative): ${describeCheck(check)}\n`);
      if (!check.ok) throw new Error(`${name}: the PyTorch mirror failed its gradient check: ${JSON.stringify(check)}`);
      if (check.gelu !== "native") process.stderr.write(`${name}: PyTorch's native GELU backward failed the check; using the "${check.gelu}" GELU\n`);
      const runs: { variant: "simple" | "loop"; threads: number; side: Side }[] = [
        { variant: "simple", threads: o.threads, side: "simple" }, { variant: "loop", threads: o.threads, side: "loop" },
        ...(o.threads > 1 ? [{ variant: "simple", threads: 1, side: "simple1" }, { variant: "loop", threads: 1, side: "loop1" }] as const : []),
      ];
      for (const { variant, threads, side } of runs) {
        const args = [TORCH_SCRIPT, "--serve", "--spec", JSON.stringify(oursReady.spec), "--variant", variant, "--gelu", check.gelu!, "--threads", String(threads), "--warmup", String(o.warmup)];
        const proc = new LineProcess(`torch ${variant} ${threads} ${name}`, torch.python, args, torchEnv(threads, best));
        procs.push(proc);
        const ready = await proc.next<Ready>();
        if (ready.params !== oursReady.params) throw new Error(`${name}: PyTorch ${variant} serves ${ready.params} parameters, ours ${oursReady.params}`);
        servers.push({ variant: side, proc });
      }
    }
    const sides = [{ variant: "ours" as const, proc: ours }, ...servers];
    const steps: Record<Side, number[]> = { ours: [], simple: [], loop: [], simple1: [], loop1: [] };
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(k + r) % sides.length];
        side.proc.send({ run: o.steps });
        steps[side.variant].push(...(await side.proc.next<Times>()).times);
      }
      process.stderr.write(`${name} round ${r + 1}/${o.rounds}: ${sides.map((s) => `${s.variant} ${median(steps[s.variant]).toFixed(1)} ms`).join(", ")}\n`);
    }
    const rss: Record<string, number> = {};
    for (const side of sides) rss[side.variant] = (await side.proc.quit<Peak>()).peakRssMb;
    const oursMs = median(steps.ours);
    const simpleMs = steps.simple.length ? median(steps.simple) : null;
    const loopMs = steps.loop.length ? median(steps.loop) : null;
    const oneThread = steps.simple1.length && steps.loop1.length ? { simpleMs: median(steps.simple1), loopMs: median(steps.loop1) } : null;
    const candidates: [string, number | null][] = [
      ["simple", simpleMs], ["loop", loopMs], ["simple on 1 thread", oneThread?.simpleMs ?? null], ["loop on 1 thread", oneThread?.loopMs ?? null],
    ];
    const timed = candidates.filter((c): c is [string, number] => c[1] !== null).sort((a, b) => a[1] - b[1]);
    const [fasterRun, faster] = simpleMs !== null && loopMs !== null ? timed[0] : [null, null];
    const ratio = faster ? oursMs / faster : null;
    return {
      model: name,
      params: oursReady.params,
      plan: oursReady.plan ?? "-",
      oursMs,
      simpleMs,
      loopMs,
      oneThread,
      fasterRun,
      ratio,
      target,
      met: ratio === null ? null : ratio <= target,
      rssMb: { ours: rss.ours, simple: rss.simple ?? null, loop: rss.loop ?? null },
      steps,
      gelu: check?.gelu ?? null,
      gradCheck: check,
      openblasUncapped: best && openblasCaps().length > 0,
    };
  } finally {
    procs.forEach((p) => p.kill());
  }
}

const fmt = (x: number | null, digits = 1) => (x === null ? "—" : x.toFixed(digits));

/** Run the comparison; `argv` as given to `bench/speed/imageSteps.ts`. */
export async function runPeer(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      peer: { type: "string" },
      threads: { type: "string", default: process.env.DYNAMOE_THREADS || "1" },
      rounds: { type: "string", default: "3" },
      steps: { type: "string", default: "10" },
      "lm-steps": { type: "string", default: "2" },
      warmup: { type: "string", default: "3" },
      models: { type: "string", default: PEER_MODELS.map((m) => m.name).join(",") },
      json: { type: "string" },
      "no-install": { type: "boolean", default: false },
      engine: { type: "string", default: "auto" },
    },
  });
  if (values.peer !== "pytorch") throw new Error(`--peer: only "pytorch" is supported, got "${values.peer}"`);
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got "${values.threads}"`);
  const names = values.models!.split(",");
  for (const n of names) if (!PEER_MODELS.some((m) => m.name === n)) throw new Error(`--models: unknown model ${n}; one of ${PEER_MODELS.map((m) => m.name).join(", ")}`);

  reportMachineLoad();
  const loadBefore = os.loadavg()[0];
  const found = findTorch(threads, { install: !values["no-install"] });
  const torch = typeof found === "string" ? null : found;
  if (typeof found === "string") process.stderr.write(`peer: skipping the PyTorch columns: ${found}\n`);
  else {
    const i = found.info;
    process.stderr.write(`peer: PyTorch ${i.torch} (Python ${i.python} at ${found.python}), ${i.threads} thread(s), BLAS_INFO=${i.blasInfo}, loaded: ${i.blasLibraries.join(", ")}\n`);
    const caps = openblasCaps();
    const capped = caps.length ? torchInfo(found.python, threads, false) : null;
    const core = (x: TorchInfo | string | null) => (x && typeof x !== "string" && x.openblasState ? `OpenBLAS core ${x.openblasState.core}, ${x.openblasState.threads} thread(s)` : "no OpenBLAS state");
    process.stderr.write(
      `peer: PyTorch runs ${core(i)}` +
        (caps.length ? ` (${caps.join(" ")} unset for the PyTorch processes only; with them it would run ${core(capped)})` : " (the environment sets no OpenBLAS caps)") + "\n",
    );
  }
  process.stderr.write(`peer: threads ours ${threads} (DYNAMOE_THREADS: the native engine's kernel pool), PyTorch ${threads} (set_num_threads, OMP/OPENBLAS/MKL_NUM_THREADS)\n`);

  const rows: PeerRow[] = [];
  for (const name of names) {
    const model = PEER_MODELS.find((m) => m.name === name)!;
    const steps = Number(model.task === "lm" ? values["lm-steps"] : values.steps);
    const warmup = model.task === "lm" ? Math.min(Number(values.warmup), 1) : Number(values.warmup);
    rows.push(await timeModel(name, peerTarget(model, threads), torch, { threads, rounds: Number(values.rounds), steps, warmup, engine: values.engine! }));
  }
  const loadAfter = os.loadavg()[0];
  const probe = rows.find((r) => r.gradCheck)?.gradCheck?.geluProbe;
  const out = [
    `training step (forward, backward, clipping, AdamW) against PyTorch ${torch?.info.torch ?? "(not run)"} on the CPU, ${threads} thread(s) each; ` +
      `${values.rounds} interleaved rounds of ${values.steps} steps (LM: ${values["lm-steps"]}) per side, medians; image batch 256, LM batch 32 × context 128`,
    "",
    ...(threads > 1
      ? [
          `| model | ours ms/step | PyTorch simple ms | PyTorch loop ms | PyTorch simple / loop on 1 thread, ms | ratio vs fastest | fastest PyTorch | target | met? | peak RSS MB ours / simple / loop |`,
          "|---|---|---|---|---|---|---|---|---|---|",
        ]
      : [
          "| model | ours ms/step | PyTorch simple ms | PyTorch loop ms | ratio vs faster | target | met? | peak RSS MB ours / simple / loop |",
          "|---|---|---|---|---|---|---|---|",
        ]),
    ...rows.map(
      (r) =>
        `| ${r.model} | ${fmt(r.oursMs)} | ${fmt(r.simpleMs)} | ${fmt(r.loopMs)} | ` +
        (threads > 1 ? `${r.oneThread ? `${fmt(r.oneThread.simpleMs)} / ${fmt(r.oneThread.loopMs)}` : "—"} | ` : "") +
        `${r.ratio === null ? "—" : r.ratio.toFixed(2) + "×"} | ` +
        (threads > 1 ? `${r.fasterRun ?? "—"} | ` : "") +
        `≤ ${r.target.toFixed(1)}× | ${r.met === null ? "—" : r.met ? "yes" : "no"} | ${fmt(r.rssMb.ours, 0)} / ${fmt(r.rssMb.simple, 0)} / ${fmt(r.rssMb.loop, 0)} |`,
    ),
    "",
    `parameters (equal on both sides, checked): ${rows.map((r) => `${r.model} ${r.params.toLocaleString("en-US")}`).join(", ")}`,
    `our plans per layer: ${rows.map((r) => `${r.model}: ${r.plan}`).join("; ")}`,
  ];
  if (probe) out.push(`PyTorch GELU: ${rows.map((r) => `${r.model} ${r.gelu}`).join(", ")}; probe, float32 vs float64 backward, max abs error: ${Object.entries(probe).map(([k, v]) => `${k} ${typeof v === "number" ? v.toExponential(1) : v}`).join(", ")}`);
  if (!torch) out.push(`PyTorch columns skipped: ${found as string}`);
  out.push(`load average before: ${loadBefore.toFixed(2)}, after: ${loadAfter.toFixed(2)} (${os.availableParallelism()} cores)`);
  process.stdout.write(out.join("\n") + "\n");
  if (values.json) {
    const report = {
      date: new Date().toISOString(),
      machine: { cpu: os.cpus()[0]?.model ?? "?", cores: os.availableParallelism(), loadBefore, loadAfter },
      threads,
      rounds: Number(values.rounds),
      steps: Number(values.steps),
      lmSteps: Number(values["lm-steps"]),
      torch: torch ? { ...torch.info, python: torch.python, pythonVersion: torch.info.python } : { skipped: found },
      rows,
    };
    writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
    process.stderr.write(`peer: wrote ${values.json}\n`);
  }
}
