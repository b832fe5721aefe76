/**
 * The board's page (`boardCommand.ts`), two views: Runs (the run list on the left, the selected runs'
 * charts on the right, polled every `POLL_MS`) and the Playground (`playgroundPage.ts`; open it with
 * `#playground`). Plain DOM and Vega; `window.dynamoeBoard.state()` reports what the open view shows.
 */
import { PLAYGROUND_HTML, PLAYGROUND_SCRIPT, PLAYGROUND_STYLE } from "./playgroundPage.js";

export const POLL_MS = 1000;

export const BOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dynamoe board</title><link rel="icon" href="data:,">
<style>
body { font: 14px system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; color: #222; }
header { border-bottom: 1px solid #ddd; padding: 4px 8px; } header button { margin-right: 4px; }
header button.open { font-weight: bold; }
#runs-view { flex: 1; display: flex; overflow: hidden; }
#runs-view[hidden], #playground-view[hidden] { display: none; }
nav { width: 320px; overflow: auto; border-right: 1px solid #ddd; padding: 8px; box-sizing: border-box; }
main { flex: 1; overflow: auto; padding: 8px; display: flex; flex-wrap: wrap; align-content: flex-start; gap: 12px; }
h1 { font-size: 16px; margin: 4px 0 8px; }
ul { list-style: none; padding: 0; margin: 0; }
li { padding: 6px; border-radius: 4px; cursor: pointer; margin-bottom: 2px; }
li:hover { background: #f3f3f3; } li.selected { background: #e3eefc; }
.status { font-size: 12px; color: #666; } .training { color: #0a7d20; }
figure { margin: 0; border: 1px solid #eee; padding: 4px; }
.empty { color: #666; padding: 16px; }
${PLAYGROUND_STYLE}
</style>
<script src="/vendor/vega.min.js"></script>
<script src="/vendor/vega-lite.min.js"></script>
</head><body>
<header><button id="view-runs" data-testid="view-runs">Runs</button><button id="view-playground" data-testid="view-playground">Playground</button></header>
<div id="runs-view">
<nav><h1>dynamoe board</h1><ul data-testid="run-list" id="runs"></ul></nav>
<main id="charts"><p class="empty">Select one or more runs to see their curves and routing.</p></main>
</div>
${PLAYGROUND_HTML}
<script>
const state = { view: "runs", step: 0, accuracy: null, running: false, runs: [], selected: [] };
window.dynamoeBoard = {
  state: () => state.view === "playground"
    ? { view: "playground", step: pg.step, accuracy: pg.accuracy, running: pg.running, runs: state.runs.map((r) => r.name), stepsPerSecond: pg.stepsPerSecond ?? null, threads: pg.threads ?? null }
    : { view: state.view, step: state.step, accuracy: state.accuracy, running: state.running, runs: state.runs.map((r) => r.name) },
};
function showView(view) {
  state.view = view;
  document.getElementById("runs-view").hidden = view !== "runs";
  document.getElementById("playground-view").hidden = view !== "playground";
  document.getElementById("view-runs").className = view === "runs" ? "open" : "";
  document.getElementById("view-playground").className = view === "playground" ? "open" : "";
  if (location.hash !== "#" + view) history.replaceState(null, "", view === "runs" ? location.pathname + location.search : "#playground");
}
let drawnKey = "";
async function getJson(url) { const r = await fetch(url, { cache: "no-store" }); if (!r.ok) throw new Error(url + ": " + r.status); return r.json(); }
function renderList() {
  const ul = document.getElementById("runs");
  ul.replaceChildren(...state.runs.map((r) => {
    const li = document.createElement("li");
    li.dataset.testid = "run-item";
    li.dataset.run = r.name;
    if (state.selected.includes(r.name)) li.className = "selected";
    const acc = r.accuracy === null ? "" : ", " + r.accuracy.toFixed(2) + "%";
    li.innerHTML = "<div></div><div class='status'></div>";
    li.firstChild.textContent = r.label;
    li.lastChild.textContent = r.name + ": " + r.status + ", step " + r.step + acc;
    if (r.status === "training") li.lastChild.classList.add("training");
    li.onclick = () => { state.selected = state.selected.includes(r.name) ? state.selected.filter((n) => n !== r.name) : [...state.selected, r.name]; renderList(); refresh(); };
    return li;
  }));
}
async function drawCharts() {
  const main = document.getElementById("charts");
  if (state.selected.length === 0) { main.innerHTML = "<p class='empty'>Select one or more runs to see their curves and routing.</p>"; return; }
  const charts = await getJson("/api/charts?" + state.selected.map((n) => "run=" + encodeURIComponent(n)).join("&"));
  const figures = [];
  for (const c of charts) {
    const fig = document.createElement("figure");
    fig.dataset.testid = c.testId;
    fig.title = c.title;
    const view = new vega.View(vega.parse(vegaLite.compile(c.spec).spec), { renderer: "svg" });
    await view.initialize(fig).runAsync();
    figures.push(fig);
  }
  main.replaceChildren(...figures);
}
async function refresh() {
  state.runs = await getJson("/api/runs");
  const shown = state.runs.filter((r) => state.selected.includes(r.name));
  const last = shown.at(-1);
  state.step = last ? last.step : 0;
  state.accuracy = last ? last.accuracy : null;
  state.running = state.runs.some((r) => r.status === "training");
  renderList();
  const key = JSON.stringify(shown.map((r) => [r.name, r.updated, r.step]));
  if (key !== drawnKey) { drawnKey = key; await drawCharts(); }
}
${PLAYGROUND_SCRIPT}
pgInit();
document.getElementById("view-runs").onclick = () => showView("runs");
document.getElementById("view-playground").onclick = () => showView("playground");
showView(location.hash === "#playground" ? "playground" : "runs");
refresh();
setInterval(() => refresh().catch((e) => console.error(e)), ${POLL_MS});
</script></body></html>
`;
