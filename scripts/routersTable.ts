/**
 * The routers table of docs/routers.md, made from the rule registry (`src/moe/routers/registry.ts`),
 * between the lines `<!-- routers:begin -->` and `<!-- routers:end -->`.
 *
 *   npm run docs:routers            rewrite the table in docs/routers.md
 *   node --import tsx scripts/routersTable.ts    print it
 *
 * `test/moe/routers/registry.test.ts` fails when the page and the registry disagree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { ROUTER_KINDS, ROUTING_RULES, routerDefaults } from "../src/moe/routers/registry.js";

export const ROUTERS_PAGE = new URL("../docs/routers.md", import.meta.url).pathname;
const BEGIN = "<!-- routers:begin -->";
const END = "<!-- routers:end -->";

/** The Markdown table: one row per rule. */
export function routersTable(): string {
  const rows = ROUTER_KINDS.map((kind) => {
    const rule = ROUTING_RULES[kind];
    const d = routerDefaults(kind);
    const capacity = rule.capacity ? `yes, ${rule.capacity(100, 10, d, true)} slots at T = 100, N = 10 (training)` : "no";
    const cells = [
      `\`${kind}\``,
      rule.summary,
      rule.noisy ? "g̃ (noisy)" : "g",
      rule.weights === "raw" ? "raw gates" : "renormalised",
      capacity,
      `${rule.maxActive(8, d)} of 8`,
      rule.losses.length ? rule.losses.join(", ") : "-",
      rule.keys.map((k) => `\`${k}\` ${JSON.stringify(d[k])}`).join(", ") || "-",
      `${d.temperature}`,
      `${d.jitter}`,
      rule.host ? "yes" : "no (jax)",
      rule.reference,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  return [
    "| rule | what it selects | selects on | weights | capacity | most experts per token | auxiliary losses | its keys and defaults | temperature | jitter | native engine | reference |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** The page with its table replaced by `routersTable()`. */
export function withTable(page: string): string {
  const a = page.indexOf(BEGIN);
  const b = page.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/routers.md: no ${BEGIN} ... ${END} block`);
  const note = "<!-- made by npm run docs:routers from src/moe/routers/registry.ts; do not edit by hand -->";
  return `${page.slice(0, a + BEGIN.length)}\n${note}\n\n${routersTable()}\n\n${page.slice(b)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes("--write")) writeFileSync(ROUTERS_PAGE, withTable(readFileSync(ROUTERS_PAGE, "utf8")));
  else console.log(routersTable());
}
