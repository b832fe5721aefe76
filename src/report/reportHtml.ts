/**
 * The report as one self-contained HTML page: inline CSS, inline SVG charts, no script and nothing
 * fetched from the network.
 */
import type { Report } from "./buildReport.js";
import { claimRules, PAPER } from "./claims.js";
import { tableRows } from "./resultsTable.js";
import { verdictRules, type Verdict } from "./verdict.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 24px 48px; color: #1b1f24; }
h1 { font-size: 24px; margin: 24px 0 4px; } h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; } h3 { font-size: 15px; margin: 22px 0 6px; }
.quick { background: #fff4ce; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 10px; margin: 8px 0; font-weight: 600; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; } th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; } th { background: #f6f8fa; }
.verdict { font-weight: 700; white-space: nowrap; padding: 1px 6px; border-radius: 4px; }
.v-held { background: #dafbe1; color: #116329; } .v-did-not-hold { background: #ffebe9; color: #a40e26; } .v-inconclusive { background: #fff8c5; color: #7d4e00; } .v-not-run { background: #eaeef2; color: #57606a; }
.paper { color: #57606a; } .muted { color: #57606a; font-size: 12px; }
figure.chart { display: inline-block; vertical-align: top; margin: 8px 16px 16px 0; max-width: 560px; } figure.chart figcaption { font-size: 12px; color: #57606a; max-width: 520px; }
figure.chart svg { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; font-size: 12px; } code { font-size: 12px; }
details { margin: 4px 0; } summary { cursor: pointer; } .run { margin: 10px 0; } .run p { margin: 2px 0; } code.command { background: #f6f8fa; padding: 1px 4px; }
`;

const verdictBadge = (v: string) => `<span class="verdict v-${v.replace(/ /g, "-")}">${esc(v)}</span>`;

function table(rows: string[][]): string {
  const [head, ...body] = rows;
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** The whole page. */
/** A claim's verdicts per part, as badges after their part's name. */
function partsHtml(parts: { part: string; verdict: Verdict }[] | undefined): string {
  return (parts ?? []).map((p) => ` ${esc(p.part)}: ${verdictBadge(p.verdict)}`).join(";");
}

export function reportHtml(r: Report): string {
  const quick = r.quickBanner ? `<div class="quick">${esc(r.quickBanner)}</div>` : "";
  const c = r.collection;
  const unfinished = c.runs.filter((x) => !x.summary).length;
  const summaryRows = [["claim", "the paper says", "verdict"], ...r.claims.map((cl) => [esc(`${cl.id}. ${cl.title}`), `<span class="paper">${esc(cl.paper)}</span>`, verdictBadge(cl.verdict) + partsHtml(cl.parts)])];
  const claims = r.claims
    .map((cl) => {
      const body = cl.rows.length
        ? table([
            ["setting", "paper", "ours", "verdict", "why", "counted"],
            ...cl.rows.map((row) => [esc(row.context), `<span class="paper">${esc(row.paper ? `paper: ${row.paper}` : "")}</span>`, esc(row.ours), verdictBadge(row.verdict), esc(row.why), row.counted ? "yes" : "no (not the paper's setting)"]),
          ])
        : `<p>Not run: nothing in this folder tests it. To run it: <code>${esc(cl.howToRun)}</code></p>`;
      return `<h3 id="claim-${cl.id}">Claim ${cl.id}: ${esc(cl.title)} ${verdictBadge(cl.verdict)}</h3><p class="paper">Paper: ${esc(cl.paper)}</p>${cl.parts?.length ? `<p>Verdict per corpus and scale:${partsHtml(cl.parts)}</p>` : ""}${body}`;
    })
    .join("\n");
  const resultsRows = tableRows(c).map((row, i) => (i === 0 ? row : row.map(esc)));
  const sections = r.sections
    .map(
      (s) =>
        `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>${quick}<p>${esc(s.intro)}</p>${s.charts
          .map((ch) => `<figure class="chart" data-chart="${esc(ch.id)}">${ch.svg}<figcaption><b>${esc(ch.title)}</b>. ${esc(ch.caption)}</figcaption></figure>`)
          .join("\n")}${(s.tables ?? []).map((t) => `${table(t.rows.map((row, i) => (i === 0 ? row : row.map(esc))))}<p class="muted">${esc(t.note)}</p>`).join("\n")}</section>`,
    )
    .join("\n");
  const runs = r.runs
    .map(
      (run) =>
        `<div class="run"><p><code>${esc(run.name)}</code>: ${esc(run.status)}${run.group ? ` <span class="muted">[${esc(run.group)}]</span>` : ""}<br>` +
        `<code class="command">${esc(run.command)}</code></p>${run.problems.length ? `<p class="muted">${esc(run.problems.join("; "))}</p>` : ""}` +
        `<details><summary>config.json</summary><pre>${esc(run.config)}</pre></details></div>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(r.title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${esc(r.title)}</h1>${quick}
<p class="muted">Generated ${esc(r.generated)} by <code>dynamoe report</code> from ${c.runs.length} run folder(s) (${unfinished} unfinished) in ${c.groups.length} group(s). Every number of ours is computed from the run folders; numbers marked "paper" are the paper's own (arXiv 2603.01697, spec §1).</p></header>
<section id="claims"><h2>The paper's claims</h2>${quick}${table(summaryRows)}
${claims}</section>
<section id="results"><h2>Results</h2>${quick}${table(resultsRows)}<p class="muted">mean ± sample std over seeds (no ± for one seed); active FLOPs/token: the FFN/MoE layers' multiply-adds per token (docs/report.md).</p></section>
${sections}
<section id="runs"><h2>Runs: command and configuration</h2>${quick}<p class="muted">config.json is the resolved configuration, so the command re-runs a run exactly (an unfinished one resumes).</p>${runs}</section>
<section id="method"><h2>How the verdicts are computed</h2>${quick}<ul>${[...verdictRules(), ...claimRules()].map((t) => `<li>${esc(t)}</li>`).join("")}</ul>
<p class="muted">The paper's numbers used: images, descending ahead of uniform by up to ${PAPER.imagesDescendingOverUniformMaxPoints} points; LM Tiny descending ${PAPER.lmTiny.descending.toFixed(2)} vs uniform ${PAPER.lmTiny.uniform.toFixed(2)}; LM Small ascending ${PAPER.lmSmall.ascending.toFixed(2)} vs MLP ${PAPER.lmSmall.dense.toFixed(2)}.</p></section>
</body></html>
`;
}
