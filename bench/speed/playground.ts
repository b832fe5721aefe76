/**
 * `npm run bench:playground`: training steps per second of the board's Playground in Debian's
 * Chromium (the native step in a Web Worker, 1 and 2 kernel threads) against `dynamoe train` on the
 * same model, batch and data (`--threads 1` and `--threads 2`), one after another on this machine.
 *
 *   npm run bench:playground -- [--steps 300] [--threads 1,2] [--rounds 1]
 *
 * The model is the Playground test's: DynaMoE (percentile router), layers 2, descending 8 → 2 experts,
 * d = h = 64, batch 64, lr 0.003, MNIST. Both sides log the mean step time every 10 steps (a step:
 * the batch gathered, the key split, the native step); the rate is 1000 / the mean of those windows
 * after the first (which holds the warm-up). Evaluation is not timed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBoard } from "../../src/cli/boardCommand.js";
import { reportMachineLoad } from "../machine.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../../test/cli/chromium.js";

const { values } = parseArgs({ options: { steps: { type: "string", default: "300" }, threads: { type: "string", default: "1,2" }, rounds: { type: "string", default: "1" } } });
const steps = Number(values.steps);
const threadCounts = values.threads.split(",").map(Number);
const MODEL = { layers: 2, eMax: 8, eMin: 2, d: 64, h: 64, lr: 0.003, batch: 64 };

/** Steps per second from metrics lines: 1000 / the mean `stepMs` of the train lines after the first. */
function rate(lines: { type: string; stepMs?: number }[]): number {
  const ms = lines.filter((l) => l.type === "train").slice(1).map((l) => l.stepMs!);
  return 1000 / (ms.reduce((a, b) => a + b, 0) / ms.length);
}

async function playground(threads: number): Promise<number> {
  const board = await startBoard(mkdtempSync(join(os.tmpdir(), "dynamoe-bench-")), 0);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${board.url}#playground`, { waitUntil: "load" });
    await page.locator('[data-testid="playground-router"] option[value="percentile"]').waitFor({ state: "attached" });
    await page.selectOption('[data-testid="playground-router"]', "percentile");
    await page.selectOption('[data-testid="playground-schedule"]', "descending");
    const fields: Record<string, number> = { "pg-layers": MODEL.layers, "pg-emax": MODEL.eMax, "pg-emin": MODEL.eMin, "pg-d": MODEL.d, "pg-h": MODEL.h, "pg-lr": MODEL.lr, "pg-batch": MODEL.batch, "pg-steps": steps, "pg-eval-every": steps, "pg-train-size": 20000, "pg-eval-size": 100, "pg-threads": threads };
    for (const [id, v] of Object.entries(fields)) await page.locator(`#${id}`).fill(String(v));
    await page.locator('[data-testid="playground-start"]').click();
    await page.waitForFunction((n) => {
      const s = (window as unknown as { dynamoeBoard: { state(): { step: number; running: boolean } } }).dynamoeBoard.state();
      return s.step === n && !s.running;
    }, steps, { timeout: 600_000 });
    const lines = (await page.evaluate("pg.lines")) as { type: string; stepMs?: number }[]; // the page's metrics lines
    return rate(lines);
  } finally {
    await browser.close();
    await board.close();
  }
}

function cli(threads: number): number {
  const out = mkdtempSync(join(os.tmpdir(), "dynamoe-bench-cli-"));
  const args = ["--import", "tsx", "src/cli/bin.ts", "train", "--dataset", "mnist", "--router", "percentile", "--schedule", "descending", "--lr", String(MODEL.lr), "--batch-size", String(MODEL.batch), "--max-steps", String(steps), "--validation", "0", "--threads", String(threads), "--out", out,
    "--set", `layers=${MODEL.layers}`, "--set", `eMax=${MODEL.eMax}`, "--set", `eMin=${MODEL.eMin}`, "--set", `d=${MODEL.d}`, "--set", `h=${MODEL.h}`, "--set", "logEvery=10", "--set", "testLimit=100"];
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`dynamoe train failed: ${r.stderr}`);
  return rate(readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)));
}

reportMachineLoad();
process.stdout.write(`model: percentile, layers ${MODEL.layers}, descending ${MODEL.eMax}→${MODEL.eMin}, d=h=${MODEL.d}, batch ${MODEL.batch}, ${steps} steps\n`);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const t of threadCounts) {
    const c = cli(t);
    const p = await playground(t);
    process.stdout.write(`threads ${t}: dynamoe train ${c.toFixed(1)} steps/s, playground (Chromium) ${p.toFixed(1)} steps/s (${(p / c).toFixed(2)}×), load ${os.loadavg()[0].toFixed(2)}\n`);
  }
}
