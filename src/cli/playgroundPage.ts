/**
 * The board's Playground view (part of `boardPage.ts`'s page): a form for the run, start / pause /
 * reset, the live charts (the Runs view's specs, from `/api/playground/charts`), and a canvas to draw
 * an image on, with the prediction and each MoE layer's experts and weights. Training runs in a Web
 * Worker (`/playground.js`, `playgroundWorker.ts`).
 */

/** Fewest milliseconds between two chart redraws while training. */
export const CHART_EVERY_MS = 1500;

export const PLAYGROUND_STYLE = `
#playground-view { flex: 1; display: flex; overflow: auto; }
#pg-form { width: 320px; padding: 8px; box-sizing: border-box; border-right: 1px solid #ddd; }
#pg-form label { display: flex; justify-content: space-between; margin: 4px 0; }
#pg-form input, #pg-form select { width: 130px; }
#pg-form button { margin: 8px 4px 0 0; }
#pg-main { flex: 1; padding: 8px; display: flex; flex-direction: column; gap: 8px; }
#pg-status { font-size: 13px; } #pg-error { color: #b00020; }
#pg-charts { display: flex; flex-wrap: wrap; gap: 12px; }
#pg-draw { display: flex; gap: 12px; align-items: flex-start; }
canvas { border: 1px solid #999; background: #000; cursor: crosshair; touch-action: none; }
`;

export const PLAYGROUND_HTML = `
<div id="playground-view" hidden>
<form id="pg-form" onsubmit="return false">
<h1>Playground</h1>
<label>dataset <select id="pg-dataset"></select></label>
<label>router <select id="pg-router" data-testid="playground-router"></select></label>
<label>schedule <select id="pg-schedule" data-testid="playground-schedule"></select></label>
<label>layers <input id="pg-layers" type="number" min="1" value="2"></label>
<label>E max <input id="pg-emax" type="number" min="1" value="8"></label>
<label>E min <input id="pg-emin" type="number" min="1" value="2"></label>
<label>d <input id="pg-d" type="number" min="4" step="4" value="64"></label>
<label>expert hidden h <input id="pg-h" type="number" min="4" step="4" value="64"></label>
<label>learning rate <input id="pg-lr" type="number" step="0.0005" value="0.003"></label>
<label>batch <input id="pg-batch" type="number" min="1" value="64"></label>
<label>steps <input id="pg-steps" type="number" min="1" value="600"></label>
<label>evaluate every <input id="pg-eval-every" type="number" min="1" value="50"></label>
<label>training images <input id="pg-train-size" type="number" min="100" value="20000"></label>
<label>test images <input id="pg-eval-size" type="number" min="10" value="1000"></label>
<label>threads <input id="pg-threads" type="number" min="1" value="1" title="kernel threads: more than 1 only where the page is cross-origin isolated"></label>
<button id="pg-start" data-testid="playground-start">start</button><button id="pg-pause" data-testid="playground-pause" disabled>pause</button><button id="pg-reset">reset</button><button id="pg-download" data-testid="playground-download" disabled>download run folder</button>
<p id="pg-status">step <span data-testid="playground-step" id="pg-step">0</span> · test accuracy <span data-testid="playground-accuracy" id="pg-accuracy">–</span>% · <span id="pg-speed"></span></p>
<p id="pg-error"></p>
</form>
<div id="pg-main">
<div id="pg-draw"><canvas id="pg-canvas" data-testid="draw-canvas" width="280" height="280"></canvas>
<div><button id="pg-clear">clear</button><p data-testid="draw-prediction" id="pg-prediction"></p><div data-testid="draw-experts" id="pg-experts"></div></div></div>
<div id="pg-charts"></div>
</div>
</div>
`;

export const PLAYGROUND_SCRIPT = `
const pg = { worker: null, run: null, lines: [], step: 0, accuracy: null, running: false, chartsAt: 0, chartTimer: null, started: false };
const $ = (id) => document.getElementById(id);
async function pgOptions() {
  const o = await getJson("/api/playground/options");
  const fill = (sel, values) => sel.replaceChildren(...values.map((v) => { const op = document.createElement("option"); op.value = op.textContent = v; return op; }));
  // Kernel threads share memory with Web Workers only in a cross-origin isolated page (the board sends COOP/COEP).
  $("pg-threads").max = String(crossOriginIsolated ? navigator.hardwareConcurrency || 1 : 1);
  fill($("pg-dataset"), o.datasets); fill($("pg-router"), o.routers); fill($("pg-schedule"), o.schedules);
}
function pgSet(step, accuracy, running) {
  pg.step = step; pg.running = running;
  if (accuracy !== undefined) pg.accuracy = accuracy;
  $("pg-step").textContent = String(step);
  $("pg-accuracy").textContent = pg.accuracy === null ? "–" : pg.accuracy.toFixed(2);
  $("pg-pause").disabled = !pg.started || (!running && !pg.paused);
  $("pg-pause").textContent = pg.paused ? "resume" : "pause";
}
async function pgDrawCharts() {
  pg.chartsAt = performance.now(); pg.chartTimer = null;
  const charts = await fetch("/api/playground/charts", { method: "POST", body: JSON.stringify({ config: pg.run.config, lines: pg.lines, classNames: pg.run.classNames }) }).then((r) => r.json());
  const figures = [];
  for (const c of charts) {
    const fig = document.createElement("figure");
    fig.dataset.testid = c.testId; fig.title = c.title;
    await new vega.View(vega.parse(vegaLite.compile(c.spec).spec), { renderer: "svg" }).initialize(fig).runAsync();
    figures.push(fig);
  }
  $("pg-charts").replaceChildren(...figures);
}
function pgChartsSoon() {
  if (pg.chartTimer) return;
  pg.chartTimer = setTimeout(() => pgDrawCharts().catch((e) => console.error(e)), Math.max(0, ${CHART_EVERY_MS} - (performance.now() - pg.chartsAt)));
}
function pgReply(m) {
  if (m.type === "line") { pg.lines.push(m.line); if (m.line.type === "eval") pgSet(pg.step, 100 * m.line.accuracy, pg.running); pgChartsSoon(); }
  else if (m.type === "state") { pgSet(m.step, undefined, m.running); $("pg-speed").textContent = m.threads + (m.threads > 1 ? " threads" : " thread") + (m.stepsPerSecond ? ", " + m.stepsPerSecond.toFixed(1) + " steps/s" : ""); pg.stepsPerSecond = m.stepsPerSecond; pg.threads = m.threads; }
  else if (m.type === "prediction") pgShowPrediction(m);
  else if (m.type === "state-bytes") pgDownload(m).catch((e) => { $("pg-error").textContent = String(e); });
  else if (m.type === "error") { $("pg-error").textContent = m.message; console.warn("playground: " + m.message); }
}
async function pgStart() {
  if (pg.started) return;
  $("pg-error").textContent = "";
  const num = (id) => Number($(id).value);
  const choices = { dataset: $("pg-dataset").value, router: $("pg-router").value, schedule: $("pg-schedule").value, layers: num("pg-layers"), eMax: num("pg-emax"), eMin: num("pg-emin"), d: num("pg-d"), h: num("pg-h"), lr: num("pg-lr"), batchSize: num("pg-batch"), steps: num("pg-steps"), evalEvery: num("pg-eval-every"), trainSize: num("pg-train-size"), evalSize: num("pg-eval-size") };
  const res = await fetch("/api/playground/config", { method: "POST", body: JSON.stringify(choices) });
  if (!res.ok) { $("pg-error").textContent = await res.text(); return; }
  const { config, model, stats, classNames } = await res.json();
  pg.run = { config, model, stats, classNames, threads: num("pg-threads") };
  pg.lines = []; pg.started = true; pg.paused = false;
  pg.worker = new Worker("/playground.js", { type: "module" });
  pg.worker.onmessage = (e) => pgReply(e.data);
  pg.worker.onerror = (e) => { $("pg-error").textContent = e.message; console.warn("playground worker: " + e.message); };
  pg.worker.postMessage({ type: "start", run: pg.run });
  $("pg-start").disabled = true; $("pg-download").disabled = false;
  pgSet(0, null, true);
}
// The run folder: the worker sends its state between two steps, the board writes the folder as a tar.
async function pgDownload(m) {
  const head = new TextEncoder().encode(JSON.stringify({ config: pg.run.config, lines: pg.lines.filter((l) => l.step <= m.step) }));
  const len = new Uint8Array(4); new DataView(len.buffer).setUint32(0, head.length, true);
  const res = await fetch("/api/playground/download", { method: "POST", body: new Blob([len, head, m.bytes]) });
  if (!res.ok) throw new Error(await res.text());
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = (res.headers.get("content-disposition") || "").replace(/^.*filename="([^"]+)".*$/, "$1") || "playground.tar";
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
function pgPause() {
  if (!pg.worker) return;
  pg.paused = !pg.paused;
  pg.worker.postMessage({ type: pg.paused ? "pause" : "resume" });
  pgSet(pg.step, undefined, pg.running); // the worker says when it has stopped (after the step in flight)
}
function pgReset() {
  pg.worker?.terminate(); pg.worker = null; pg.started = false; pg.paused = false; pg.lines = [];
  $("pg-start").disabled = false; $("pg-download").disabled = true; $("pg-charts").replaceChildren(); $("pg-prediction").textContent = ""; $("pg-experts").replaceChildren();
  pgSet(0, null, false);
}
// Drawing: white strokes on black, read back as 28x28 grey pixels like an MNIST image.
let pgDrawing = false;
function pgStroke(e) {
  const c = $("pg-canvas"), r = c.getBoundingClientRect(), g = c.getContext("2d");
  g.fillStyle = "#fff"; g.beginPath(); g.arc(e.clientX - r.left, e.clientY - r.top, 12, 0, 2 * Math.PI); g.fill();
}
// MNIST's recipe (LeCun et al.): the ink's bounding box scaled to fit 20 x 20, placed in 28 x 28 with its centre of mass at the centre.
function pgPixels() {
  const c = $("pg-canvas"), W = c.width, H = c.height;
  const ink = c.getContext("2d").getImageData(0, 0, W, H).data;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (ink[4 * (y * W + x)] > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const small = document.createElement("canvas"); small.width = small.height = 28;
  const g = small.getContext("2d"); g.fillStyle = "#000"; g.fillRect(0, 0, 28, 28);
  if (x1 < 0) return new Uint8Array(784);
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, s = 20 / Math.max(bw, bh);
  g.imageSmoothingEnabled = true; g.imageSmoothingQuality = "high";
  g.drawImage(c, x0, y0, bw, bh, (28 - bw * s) / 2, (28 - bh * s) / 2, bw * s, bh * s);
  let px = g.getImageData(0, 0, 28, 28).data, m = 0, mx = 0, my = 0;
  for (let i = 0; i < 784; i++) { const v = px[4 * i]; m += v; mx += v * (i % 28); my += v * Math.floor(i / 28); }
  const dx = Math.round(13.5 - mx / m), dy = Math.round(13.5 - my / m);
  const out = new Uint8Array(784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const sx = x - dx, sy = y - dy;
    if (sx >= 0 && sx < 28 && sy >= 0 && sy < 28) out[y * 28 + x] = px[4 * (sy * 28 + sx)];
  }
  return out;
}
function pgPredict() { if (pg.worker) pg.worker.postMessage({ type: "predict", pixels: pgPixels() }); }
function pgShowPrediction(m) {
  const name = pg.run.classNames ? pg.run.classNames[m.label] : String(m.label);
  $("pg-prediction").textContent = "prediction: " + name + " (" + (100 * m.probs[m.label]).toFixed(1) + "%)";
  $("pg-experts").replaceChildren(...m.layers.map((experts, l) => {
    const p = document.createElement("p");
    p.dataset.layer = String(l);
    p.textContent = "layer " + l + ": " + experts.map((e) => "expert " + e.expert + " (" + e.weight.toFixed(2) + ")").join(", ");
    return p;
  }));
}
function pgInit() {
  $("pg-start").onclick = () => pgStart().catch((e) => { $("pg-error").textContent = String(e); });
  $("pg-pause").onclick = pgPause; $("pg-reset").onclick = pgReset;
  $("pg-download").onclick = () => pg.worker?.postMessage({ type: "download" });
  const c = $("pg-canvas");
  const blank = () => { const g = c.getContext("2d"); g.fillStyle = "#000"; g.fillRect(0, 0, c.width, c.height); };
  blank();
  c.onpointerdown = (e) => { pgDrawing = true; pgStroke(e); };
  c.onpointermove = (e) => { if (pgDrawing) pgStroke(e); };
  c.onpointerup = c.onpointerleave = () => { if (pgDrawing) { pgDrawing = false; pgPredict(); } };
  $("pg-clear").onclick = () => { blank(); $("pg-prediction").textContent = ""; $("pg-experts").replaceChildren(); };
  pgOptions().catch((e) => { $("pg-error").textContent = String(e); });
}
`;
