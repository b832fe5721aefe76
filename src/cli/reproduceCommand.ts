/**
 * `dynamoe reproduce paper [--quick]`: the paper's experiments and our baselines (src/reproduce/
 * paperSpecs.ts) as sweeps, then `results` and `report` over all of them.
 *
 * The specs are written as YAML into `<out>/specs/` before anything runs, so what ran is on disk and
 * the same sweeps can be rerun, or spread over a cluster with `dynamoe sweep SPEC --shard i/n`. Like
 * a sweep, it is resumable: run it again and finished runs are skipped.
 */
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { join } from "node:path";
import { stringify } from "yaml";
import { UserError } from "../errors.js";
import { paperSpecs, QUICK } from "../reproduce/paperSpecs.js";
import { reportCommand } from "./reportCommand.js";
import { resultsCommand } from "./resultsCommand.js";
import { sweepCommand } from "./sweepCommand.js";

export type ReproduceFlags = { quick?: boolean; jobs?: number; out?: string; corpus?: string; shard?: string; dryRun?: boolean; threads?: string; only?: string };

/** `--only` parts: which specs of `paperSpecs` each selects, by name (or one spec, by its own name). */
const PARTS: Record<string, (name: string) => boolean> = {
  images: (name) => name.startsWith("images-"),
  routers: (name) => name.startsWith("routers-"),
  lm: (name) => name.startsWith("lm-"),
};

export async function reproduceCommand(what: string, flags: ReproduceFlags): Promise<void> {
  if (what !== "paper") throw new UserError(`reproduce: unknown experiment set "${what}" (try: paper)`);
  const quick = Boolean(flags.quick);
  const all = paperSpecs({ quick, corpus: flags.corpus ?? "sotu" });
  const only = flags.only;
  const part = only === undefined ? () => true : (PARTS[only] ?? ((name: string) => name === only));
  if (!all.some((s) => part(s.name))) {
    throw new UserError(`reproduce: --only must be ${Object.keys(PARTS).join(", ")} or a sweep name (${all.map((s) => s.name).join(", ")}); got "${only}"`);
  }
  const root = flags.out ?? join("runs", quick ? "reproduce-paper-quick" : "reproduce-paper");
  const specDir = join(root, "specs");
  makeFolder(specDir, "the reproduce folder");
  if (quick) {
    writeFileAtomic(
      join(root, "QUICK"),
      `dynamoe reproduce paper --quick: ${QUICK.imageSteps} steps per image run (test on the first ${QUICK.imageTest} images), ` +
        `${QUICK.lmSteps} steps per language model at Tiny scale only, one seed (validation on ${QUICK.lmValidationSequences} sequences). Not the paper's settings.\n`,
    );
  }
  const t0 = performance.now();
  const failures: string[] = [];
  for (const { name, spec } of all.filter((s) => part(s.name))) {
    const path = join(specDir, `${name}.yaml`);
    writeFileAtomic(path, `# written by dynamoe reproduce paper${quick ? " --quick" : ""}\n` + stringify({ name, out: join(root, name), ...spec }));
    try {
      await sweepCommand(path, { jobs: flags.jobs, shard: flags.shard, dryRun: flags.dryRun, threads: flags.threads });
    } catch (err) {
      // A failed run does not stop the other sweeps; an interrupt does.
      if (!(err instanceof UserError) || err.name === "InterruptedError") throw err;
      failures.push(`${name}: ${err.message}`);
      process.stderr.write(`dynamoe: ${name}: ${err.message}\n`);
    }
  }
  if (flags.dryRun) return;
  const wallSeconds = (performance.now() - t0) / 1000;
  if (flags.shard) {
    process.stdout.write(`shard ${flags.shard} finished in ${(wallSeconds / 60).toFixed(1)} min; when every shard is done, put the run folders together and run: dynamoe report ${root}\n`);
  } else {
    await resultsCommand(root);
    await reportCommand(root);
  }
  const command = `dynamoe reproduce paper${quick ? " --quick" : ""}${flags.only ? ` --only ${flags.only}` : ""}`;
  const record = { command, quick, jobs: flags.jobs ?? 1, shard: flags.shard ?? null, wallSeconds, finished: new Date().toISOString(), failures };
  const recordFile = `reproduce${flags.only ? `-${flags.only}` : ""}.json`;
  writeFileAtomic(join(root, recordFile), JSON.stringify(record, null, 2) + "\n");
  process.stdout.write(`${command}: ${(wallSeconds / 60).toFixed(1)} min wall time (${root}/${recordFile})\n`);
  if (failures.length) throw new UserError(`${failures.length} sweep(s) had failed runs: ${failures.join("; ")}`);
}
