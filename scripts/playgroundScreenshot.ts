/**
 * docs/board-playground.png: the board's Playground after training DynaMoE (percentile router,
 * descending 8 → 2 experts, d = h = 64, batch 64) for 400 steps on MNIST in Debian's Chromium, with
 * a "7" drawn on the canvas.
 *
 *   node --import tsx scripts/playgroundScreenshot.ts [OUT.png]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBoard } from "../src/cli/boardCommand.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../test/cli/chromium.js";

const out = process.argv[2] ?? "docs/board-playground.png";
const board = await startBoard(mkdtempSync(join(tmpdir(), "dynamoe-shot-")), 0);
const { chromium } = await import("playwright-core");
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1250 } });
  await page.goto(`${board.url}#playground`, { waitUntil: "load" });
  await page.locator('[data-testid="playground-router"] option[value="percentile"]').waitFor({ state: "attached" });
  await page.selectOption('[data-testid="playground-schedule"]', "descending");
  for (const [id, v] of Object.entries({ "pg-steps": 400, "pg-eval-every": 50 })) await page.locator(`#${id}`).fill(String(v));
  await page.locator('[data-testid="playground-start"]').click();
  await page.waitForFunction(() => {
    const s = (window as unknown as { dynamoeBoard: { state(): { step: number; running: boolean } } }).dynamoeBoard.state();
    return s.step === 400 && !s.running;
  }, undefined, { timeout: 600_000 });
  const box = (await page.locator('[data-testid="draw-canvas"]').boundingBox())!;
  const stroke = async (points: [number, number][]) => {
    await page.mouse.move(box.x + points[0][0], box.y + points[0][1]);
    await page.mouse.down();
    for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 12 });
    await page.mouse.up();
  };
  await stroke([[70, 60], [210, 60], [120, 230]]); // a "7"
  await page.locator('[data-testid="draw-experts"] p').first().waitFor();
  await page.waitForTimeout(2000); // the last charts
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`${out}: ${await page.locator('[data-testid="draw-prediction"]').textContent()}, accuracy ${await page.locator('[data-testid="playground-accuracy"]').textContent()}%\n`);
} finally {
  await browser.close();
  await board.close();
}
