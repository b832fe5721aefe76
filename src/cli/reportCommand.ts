/**
 * `dynamoe report DIR [--out FILE.html]`: a self-contained HTML report of every run under DIR (the
 * paper's claims with verdicts, results, charts, each run's command and configuration) and its
 * Markdown twin beside it (`report.md`, charts as SVG files in `report-charts/`).
 */
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.js";
import { buildReport } from "../report/buildReport.js";
import { collectRuns } from "../report/collect.js";
import { reportHtml } from "../report/reportHtml.js";
import { reportMarkdown } from "../report/reportMarkdown.js";

/** Where the HTML, the Markdown twin and its chart folder go. */
export function reportPaths(dir: string, out?: string): { html: string; markdown: string; charts: string; chartsRel: string } {
  const html = out ?? join(dir, "report.html");
  if (!/\.html?$/i.test(html)) throw new UserError(`--out must name an .html file, got "${html}"`);
  const stem = basename(html).replace(/\.html?$/i, "");
  const chartsRel = `${stem}-charts`;
  return { html, markdown: join(dirname(html), `${stem}.md`), charts: join(dirname(html), chartsRel), chartsRel };
}

export async function reportCommand(dir: string, opts: { out?: string } = {}): Promise<void> {
  const paths = reportPaths(dir, opts.out);
  const collection = collectRuns(dir);
  const report = await buildReport(collection);
  makeFolder(paths.charts, "the report's chart folder");
  for (const s of report.sections) for (const ch of s.charts) writeFileAtomic(join(paths.charts, `${ch.id}.svg`), ch.svg);
  writeFileAtomic(paths.html, reportHtml(report));
  writeFileAtomic(paths.markdown, reportMarkdown(report, paths.chartsRel));
  const verdicts = report.claims.map((c) => `claim ${c.id}: ${c.verdict}`).join("; ");
  process.stdout.write(`report: ${paths.html} and ${paths.markdown} (${collection.groups.length} groups, ${collection.runs.length} runs)\n${verdicts}\n`);
  if (report.quickBanner) process.stdout.write(`${report.quickBanner}\n`);
}
