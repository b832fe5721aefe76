import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { run } from "../cli/runCli.js";
import { assertAllClose } from "../helpers.js";
import { collectRuns } from "../../src/report/collect.js";
import { tableRows } from "../../src/report/resultsTable.js";
import { SMALL, writeFixtureRun, writeImageCollection } from "./fixtures.js";

/** RFC 4180 records (quoted fields with "" escapes), enough to read csv-stringify's output back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") row.push(field), (field = "");
    else if (ch === "\n") row.push(field), rows.push(row), (row = []), (field = "");
    else field += ch;
  }
  return rows;
}

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "dynamoe-results-"));
  writeImageCollection(root);
});

test("dynamoe results: a table with mean ± std and n, and the CSV beside the runs", () => {
  const r = run(["results", root]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.match(lines[0], /^group\s+data\s+n\s+test accuracy %\s+params\s+active experts\/layer\s+active FLOPs\/token\s+steps\s+ms\/step\s+unfinished$/);
  const row = (label: string) => lines.find((l) => l.startsWith(label + " "))!;
  assert.match(row("model=moe, schedule=uniform"), /mnist\s+3\s+91\.00 ± 1\.00\s+5,000\s+2\.00, 2\.00\s+1\.2K\s+40\s+11/);
  assert.match(row("model=moe, schedule=descending"), /mnist\s+3\s+96\.00 ± 1\.00\s+4,000\s+2\.00, 1\.00\s+864\s+40\s+10\s+1$/);
  assert.match(row("model=dense"), /mnist\s+2\s+81\.00 ± 1\.41\s+3,000\s+-\s+512/);
  assert.match(r.stdout, /unfinished \(no summary\.json\): images\/descending-seed3/);
  assert.doesNotMatch(r.stdout, /quick run/);

  const csvPath = join(root, "results.csv");
  assert.ok(existsSync(csvPath));
  const [header, ...records] = parseCsv(readFileSync(csvPath, "utf8"));
  assert.equal(records.length, 3);
  const rec = (label: string) => Object.fromEntries(header.map((h, i) => [h, records.find((x) => x[0] === label)![i]]));
  const uniform = rec("model=moe, schedule=uniform"); // a label with a comma, quoted by csv-stringify
  assert.equal(uniform.n, "3");
  assert.equal(uniform.seeds, "0 1 2");
  assertAllClose([Number(uniform.accuracy_mean), Number(uniform.accuracy_std)], [91, 1]);
  assert.equal(uniform.active_flops_per_token, "1152");
  assert.equal(uniform.perplexity_mean, "");
  assert.deepEqual(JSON.parse(uniform.config).schedule, "uniform");
  assert.equal(rec("model=moe, schedule=descending").unfinished, "1");
  assertAllClose([Number(rec("model=dense").accuracy_std)], [Math.SQRT2]);
});

test("dynamoe results --csv FILE; a folder without runs is one line and exit 1", () => {
  const out = join(mkdtempSync(join(tmpdir(), "dynamoe-results-csv-")), "sub", "table.csv");
  const r = run(["results", root, "--csv", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(out, "utf8"), /^group,task,data,model,schedule,router,n,seeds,accuracy_mean,accuracy_std/);
  const empty = mkdtempSync(join(tmpdir(), "dynamoe-results-empty-"));
  const bad = run(["results", empty]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^dynamoe: .*no run folders found/);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});

test("CSV numbers: floating-point noise trimmed, float32 sums to 7 significant digits, empty for missing", async () => {
  const { csvNum } = await import("../../src/report/resultsTable.js");
  assert.equal(csvNum(97.78999999999999), 97.79);
  assert.equal(csvNum(3.0000002441406246, 7), 3);
  assert.equal(csvNum(1.256), 1.256);
  assert.equal(csvNum(0.075055534994647), 0.07505553499);
  assert.equal(csvNum(262144), 262144);
  assert.equal(csvNum(null), "");
  assert.equal(csvNum(Number.NaN), "");
});

test("validation accuracy: its own column where runs have a validation split, mean ± std over seeds", () => {
  const dir = mkdtempSync(join(tmpdir(), "dynamoe-results-val-"));
  [0.95, 0.97].forEach((v, seed) => writeFixtureRun(dir, { name: `v${seed}`, config: { ...SMALL, model: "dense", seed }, accuracy: 0.9, validationAccuracy: v }));
  const [header, row] = tableRows(collectRuns(dir));
  const at = header.indexOf("validation accuracy %");
  assert.ok(at > 0, header.join(", "));
  assert.equal(row[at], "96.00 ± 1.41");
  assert.equal(row[header.indexOf("test accuracy %")], "90.00 ± 0.00");
  // Without a validation split, no column.
  const plain = mkdtempSync(join(tmpdir(), "dynamoe-results-noval-"));
  writeImageCollection(plain);
  assert.ok(!tableRows(collectRuns(plain))[0].includes("validation accuracy %"));
});
