/**
 * `dynamoe report` end to end: the HTML and Markdown written for a fixture collection (images, a
 * language model, gradient variance, a router sweep, quick runs), then the HTML opened in a real headless Chromium
 * (Debian's, through playwright-core): every chart's SVG drawn with marks, no console error, a
 * screenshot saved. Skips with a message where /usr/bin/chromium is missing.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { run } from "../cli/runCli.js";
import { SMALL, writeFixtureRun, writeImageCollection } from "./fixtures.js";

/** Debian's Chromium; `DYNAMOE_CHROMIUM` points elsewhere. */
const CHROMIUM = process.env.DYNAMOE_CHROMIUM ?? "/usr/bin/chromium";

let root: string;
let out: string;
let html: string;
let stdout: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "dynamoe-report-"));
  writeImageCollection(root);
  // Fashion-MNIST: percentile against top-k with gradient variance, 2 seeds each.
  for (const [router, base] of [["percentile", 1], ["topk", 2]] as const) {
    for (const seed of [0, 1]) {
      writeFixtureRun(root, {
        name: `fashion/${router}-seed${seed}`,
        config: { ...SMALL, dataset: "fashion-mnist", model: "moe", router: { kind: router }, seed },
        accuracy: 0.85 + 0.01 * seed,
        kHists: [[0, 10, 20, 0, 0], [0, 0, 30, 0, 0]],
        gradVariance: [20, 40, 60].map((step, i) => ({ step, k: 4, total: base + 0.1 * seed - 0.2 * i, groups: { router: 0.1 }, lossVariance: 0.01 })),
      });
    }
  }
  // A router sweep (the "Routers compared" section): top-k and top-p, whose k varies.
  for (const [router, kHist] of [["topk", [0, 0, 30, 0, 0]], ["top-p", [0, 10, 15, 5, 0]]] as const) {
    writeFixtureRun(root, { name: `routers-cifar10/router=${router},seed=0`, config: { ...SMALL, dataset: "cifar10", model: "moe", schedule: "uniform", router: { kind: router }, seed: 0 }, accuracy: 0.5, validationAccuracy: 0.5, kHists: [[...kHist], [...kHist]] });
  }
  // One language model, quick (maxSteps), so the page says so.
  writeFixtureRun(root, { name: "lm/tiny-desc", config: { task: "lm", scale: "tiny", model: "moe", schedule: "descending", maxSteps: 40 }, accuracy: 0.08, perplexity: 1750, params: 3_391_424, paramsNonEmbedding: 166_784, kHists: [[0, 0, 0, 0, 10, 0, 0, 0, 0], [0, 10, 0]], stoppedEarly: true,
    byFrequency: [
      { bucket: "top 100", inputTokens: 60, active: [4, 1], targetTokens: 60, loss: 3, accuracy: 0.2 },
      { bucket: "100–1k", inputTokens: 40, active: [4, 1], targetTokens: 40, loss: 7, accuracy: 0 },
    ],
    byLoss: [
      { bucket: "0–50%", positions: 50, lossFrom: 0.5, lossTo: 4, loss: 2, active: [4, 1] },
      { bucket: "50–100%", positions: 50, lossFrom: 4, lossTo: 11, loss: 7, active: [4, 1] },
    ],
  });
  out = mkdtempSync(join(tmpdir(), "dynamoe-report-out-"));
  html = join(out, "report.html");
  const r = run(["report", root, "--out", html]);
  assert.equal(r.code, 0, r.stderr);
  stdout = r.stdout;
});

test("report files: self-contained HTML, its Markdown twin and chart SVGs", () => {
  assert.match(stdout, /claim 1: did not hold; claim 3: held; claim 4: not run; claim 5: held/);
  const page = readFileSync(html, "utf8");
  // Nothing fetched: no scripts, stylesheets, images or links to the network.
  assert.doesNotMatch(page, /<script|<link|<img|src="http|href="http|url\(http/i);
  assert.match(page, /<style>/);
  // The quick-run banner in the header and in every section.
  const sections = page.split("<section").length - 1;
  const banners = page.split('<div class="quick">quick run: fewer steps, not the paper\'s settings').length - 1;
  assert.ok(sections >= 6, `${sections} sections`);
  assert.equal(banners, sections + 1);
  // The paper's numbers are labelled as the paper's; ours are computed.
  assert.match(page, /Paper: descending beats uniform on MNIST, Fashion-MNIST and CIFAR-10, by up to 5\.47 points/);
  assert.match(page, /descending 96\.00 ± 1\.00 \(n=3\) vs uniform 91\.00 ± 1\.00 \(n=3\) %; Δ \+5\.00 points/);
  assert.match(page, /Tiny: descending best, 1011\.80 vs uniform 1078\.31/);
  // Every run's command and configuration; the unfinished one resumes.
  assert.match(page, new RegExp(`dynamoe train --config ${root}/images/uniform-seed0/config.json --out ${root}/images/uniform-seed0`));
  assert.match(page, new RegExp(`dynamoe train --resume ${root}/images/descending-seed3`));
  assert.match(page, /&quot;maxSteps&quot;: 40/);

  const md = readFileSync(join(out, "report.md"), "utf8");
  const headings = md.split("\n## ").length - 1;
  assert.equal(md.split("> **quick run: fewer steps, not the paper's settings").length - 1, headings + 1);
  const charts = readdirSync(join(out, "report-charts"));
  for (const name of charts) assert.match(md, new RegExp(`\\(report-charts/${name.replace(/\./g, "\\.")}\\)`));
  assert.ok(charts.includes("image-mnist-vs-flops.svg") && charts.includes("lm-sotu-tiny-vs-params.svg") && charts.includes("frequency-active-sotu-tiny.svg") && charts.includes("loss-active-sotu-tiny.svg") && charts.includes("routers-cifar10-pareto.svg") && charts.some((n) => n.startsWith("grad-variance-")), charts.join(", "));
});

test("the HTML report renders in headless Chromium: every chart drawn, no console errors", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; scripts/setup-debian.sh does it as root)`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (req) => {
      if (!req.url().startsWith("file:")) errors.push(`network request: ${req.url()}`);
    });
    await page.goto(`file://${html}`, { waitUntil: "load" });
    const charts = await page.$$eval("figure.chart", (figs) =>
      figs.map((f) => {
        const svg = f.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        // Data marks (role-mark groups) with at least one drawn child of non-zero size.
        const marks = svg ? [...svg.querySelectorAll("g.role-mark > *")].filter((el) => {
          const b = (el as SVGGraphicsElement).getBBox();
          return b.width > 0 || b.height > 0;
        }).length : 0;
        return { id: f.getAttribute("data-chart"), width: box?.width ?? 0, height: box?.height ?? 0, marks };
      }),
    );
    const expected = readdirSync(join(out, "report-charts")).map((n) => n.replace(/\.svg$/, "")).sort();
    assert.deepEqual(charts.map((c) => c.id).sort(), expected);
    for (const c of charts) {
      assert.ok(c.width > 100 && c.height > 50, `${c.id}: ${c.width}×${c.height}`);
      assert.ok(c.marks > 0, `${c.id}: no marks drawn`);
    }
    const verdicts = await page.$$eval("#claims h3 .verdict", (els) => els.map((e) => e.textContent));
    assert.deepEqual(verdicts, ["did not hold", "held", "not run", "held"]);
    const shotDir = mkdtempSync(join(tmpdir(), "dynamoe-report-shot-"));
    const shot = join(shotDir, "report.png");
    writeFileSync(shot, await page.screenshot({ fullPage: true }));
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
