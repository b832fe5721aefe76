/**
 * The report's Markdown twin: the same sections as the HTML page, with charts linked as SVG files
 * written beside it (`chartDir`, relative to the Markdown file).
 */
import type { Report } from "./buildReport.js";
import { claimRules, PAPER } from "./claims.js";
import { markdownResultsTable } from "./resultsTable.js";
import { verdictRules } from "./verdict.js";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const mdTable = (rows: string[][]) => [rows[0], rows[0].map(() => "---"), ...rows.slice(1)].map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n");

/** @param chartDir folder of the chart SVGs relative to the Markdown file (`report-charts`). */
export function reportMarkdown(r: Report, chartDir: string): string {
  const quick = r.quickBanner ? `> **${r.quickBanner}**\n\n` : "";
  const c = r.collection;
  const out: string[] = [];
  out.push(`# ${r.title}\n\n${quick}Generated ${r.generated} by \`dynamoe report\` from ${c.runs.length} run folder(s) (${c.runs.filter((x) => !x.summary).length} unfinished) in ${c.groups.length} group(s). Every number of ours is computed from the run folders; numbers marked "paper" are the paper's own (arXiv 2603.01697, spec §1).\n`);
  out.push(`## The paper's claims\n\n${quick}${mdTable([["claim", "the paper says", "verdict"], ...r.claims.map((cl) => [`${cl.id}. ${cl.title}`, cl.paper, `**${cl.verdict}**${cl.parts?.length ? ` (${cl.parts.map((p) => `${p.part}: ${p.verdict}`).join("; ")})` : ""}`])])}\n`);
  for (const cl of r.claims) {
    out.push(`### Claim ${cl.id}: ${cl.title}: **${cl.verdict}**\n\nPaper: ${cl.paper}\n`);
    if (cl.parts?.length) out.push(`Verdict per corpus and scale: ${cl.parts.map((p) => `${p.part}: **${p.verdict}**`).join("; ")}\n`);
    out.push(
      cl.rows.length
        ? mdTable([["setting", "paper", "ours", "verdict", "why", "counted"], ...cl.rows.map((row) => [row.context, row.paper ? `paper: ${row.paper}` : "", row.ours, `**${row.verdict}**`, row.why, row.counted ? "yes" : "no (not the paper's setting)"])]) + "\n"
        : `Not run: nothing in this folder tests it. To run it: \`${cl.howToRun}\`\n`,
    );
  }
  out.push(`## Results\n\n${quick}${markdownResultsTable(c)}\nmean ± sample std over seeds (no ± for one seed); active FLOPs/token: the FFN/MoE layers' multiply-adds per token (docs/report.md).\n`);
  for (const s of r.sections) {
    out.push(`## ${s.title}\n\n${quick}${s.intro}\n`);
    for (const ch of s.charts) out.push(`![${ch.title}](${chartDir}/${ch.id}.svg)\n\n*${ch.title}.* ${ch.caption}\n`);
    for (const t of s.tables ?? []) out.push(`${mdTable(t.rows)}\n\n${t.note}\n`);
  }
  out.push(`## Runs: command and configuration\n\n${quick}config.json is the resolved configuration, so the command re-runs a run exactly (an unfinished one resumes).\n`);
  for (const run of r.runs) {
    out.push(`### ${mdText(run.name)}\n\n${run.status}${run.group ? ` [${mdText(run.group)}]` : ""}${run.problems.length ? `\n\n${mdText(run.problems.join("; "))}` : ""}\n\n\`\`\`sh\n${run.command}\n\`\`\`\n\n<details><summary>config.json</summary>\n\n\`\`\`json\n${run.config}\n\`\`\`\n\n</details>\n`);
  }
  out.push(`## How the verdicts are computed\n\n${quick}${[...verdictRules(), ...claimRules()].map((t) => `- ${t}`).join("\n")}\n\nThe paper's numbers used: images, descending ahead of uniform by up to ${PAPER.imagesDescendingOverUniformMaxPoints} points; LM Tiny descending ${PAPER.lmTiny.descending.toFixed(2)} vs uniform ${PAPER.lmTiny.uniform.toFixed(2)}; LM Small ascending ${PAPER.lmSmall.ascending.toFixed(2)} vs MLP ${PAPER.lmSmall.dense.toFixed(2)}.\n`);
  return out.join("\n");
}

/** Text from run folders (names, problems) as inert Markdown: HTML and Markdown syntax escaped. */
export function mdText(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]#|!])/g, "\\$1")
    .replace(/\r?\n/g, " ");
}
