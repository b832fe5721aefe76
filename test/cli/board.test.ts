/**
 * The board's Runs view in Debian's Chromium (playwright-core): it lists a run folder made here,
 * draws the selected run's charts, and updates when a metrics line is appended, with no console
 * errors and no request leaving the machine. Skips with a message where Chromium is missing.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startBoard } from "../../src/cli/boardCommand.js";
import { SMALL, writeFixtureRun } from "../report/fixtures.js";
import { CHROMIUM, CHROMIUM_ARGS } from "./chromium.js";

test("the board lists runs, draws the selected one's curves and routing, and follows a run live", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; scripts/setup-debian.sh does it as root)`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "dynamoe-board-"));
  writeFixtureRun(root, { name: "a/topk,seed=0", config: { ...SMALL, model: "moe", router: { kind: "topk" } }, kHists: [[0, 0, 10, 0, 0], [0, 0, 10, 0, 0]], losses: [1.2, 0.8] });
  const live = writeFixtureRun(root, { name: "b/switch", config: { ...SMALL, model: "moe", router: { kind: "switch" } }, kHists: [[0, 10, 0, 0, 0], [0, 10, 0, 0, 0]], losses: [1.5], finished: false });
  const board = await startBoard(root, 0);
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (req) => !req.url().startsWith(board.url) && errors.push(`request off the machine: ${req.url()}`));
    await page.goto(board.url, { waitUntil: "load" });
    await page.waitForFunction(() => (window as unknown as { dynamoeBoard: { state(): { runs: string[] } } }).dynamoeBoard.state().runs.length === 2);
    assert.equal(await page.locator('[data-testid="run-list"] [data-testid="run-item"]').count(), 2);
    // The finished run: its curves and, per layer, its routing.
    await page.locator('[data-testid="run-item"][data-run="a/topk,seed=0"]').click();
    await page.locator('[data-testid="loss-chart"] svg').waitFor();
    for (const id of ["loss-chart", "k-histogram", "expert-load", "class-usage"]) assert.ok((await page.locator(`[data-testid="${id}"] svg`).count()) >= 1, id);
    assert.equal(await page.locator('[data-testid="k-histogram"]').count(), 2);
    // The unfinished run: a line appended to its metrics shows up.
    await page.locator('[data-testid="run-item"][data-run="a/topk,seed=0"]').click();
    await page.locator('[data-testid="run-item"][data-run="b/switch"]').click();
    const state = () => page.evaluate(() => (window as unknown as { dynamoeBoard: { state(): { step: number; running: boolean } } }).dynamoeBoard.state());
    await page.waitForFunction(() => (window as unknown as { dynamoeBoard: { state(): { step: number } } }).dynamoeBoard.state().step === 20);
    assert.equal((await state()).running, true);
    appendFileSync(join(live, "metrics.jsonl"), JSON.stringify({ type: "train", step: 40, epoch: 0, loss: 0.9, accuracy: 0.6, lr: 1e-3, gradNorm: 1, stepMs: 10 }) + "\n");
    await page.waitForFunction(() => (window as unknown as { dynamoeBoard: { state(): { step: number } } }).dynamoeBoard.state().step === 40, undefined, { timeout: 10_000 });
    await page.locator('[data-testid="loss-chart"] svg').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await board.close();
  }
});
