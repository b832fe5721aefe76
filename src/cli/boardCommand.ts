/**
 * `dynamoe board [RUNS_DIR] [--port N]`: a local web page that lists every run folder under the
 * directory and shows the selected runs' curves and routing, updating live while they train. It
 * only reads run folders. Served on 127.0.0.1 only; the charts are the report's Vega-Lite specs
 * (`report/boardCharts.ts`), drawn in the page by Vega from the installed packages (no CDN).
 *
 * The Playground view (training in the page, `playgroundRoutes.ts`) is served beside it. Every
 * response carries COOP/COEP headers so the page is cross-origin isolated (everything it loads is
 * its own): the Playground's kernels may then share memory with a pool of Web Workers.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UserError } from "../errors.js";
import { missingPackageError } from "../io/optionalPackage.js";
import { boardCharts, boardLabels, boardRun } from "../report/boardCharts.js";
import { findRunFolders, type RunFolderCache } from "../report/readRun.js";
import { BOARD_PAGE } from "./boardPage.js";
import { playgroundRoutes } from "./playgroundRoutes.js";

/** Headers that make the page cross-origin isolated (SharedArrayBuffer, shared WebAssembly memory across workers). */
const ISOLATION = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };

/** The browser builds of Vega and Vega-Lite, from the installed packages. */
function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const buildOf = (pkg: string, file: string) => {
    try {
      return join(dirname(require.resolve(pkg)), file);
    } catch {
      throw missingPackageError(pkg, "the board's charts", "vega vega-lite");
    }
  };
  return { "/vendor/vega.min.js": buildOf("vega", "vega.min.js"), "/vendor/vega-lite.min.js": buildOf("vega-lite", "vega-lite.min.js") };
}

export type Board = { url: string; close(): Promise<void> };

/** Start the board's server on 127.0.0.1 (`port` 0: any free port). */
export async function startBoard(dir: string, port: number): Promise<Board> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`board: ${dir} is not a folder`);
  const vendor = vendorFiles();
  const updated = (runDir: string) => {
    try {
      return statSync(join(runDir, "metrics.jsonl")).mtimeMs;
    } catch {
      return 0;
    }
  };
  const cache: RunFolderCache = new Map(); // the polls read only the run folders that changed
  const playground = playgroundRoutes();
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...ISOLATION, ...headers });
      res.end(body);
    };
    try {
      const reply = await playground(url, req);
      if (reply) return send(reply.status, reply.type, reply.body, reply.headers);
      if (url.pathname === "/") return send(200, "text/html; charset=utf-8", BOARD_PAGE);
      if (vendor[url.pathname]) return send(200, "text/javascript", readFileSync(vendor[url.pathname]));
      if (url.pathname === "/api/runs") {
        const runs = findRunFolders(dir, cache);
        const labels = boardLabels(runs);
        return send(200, "application/json", JSON.stringify(runs.map((r) => boardRun(r, labels.get(r)!, updated(r.dir)))));
      }
      if (url.pathname === "/api/charts") {
        const names = url.searchParams.getAll("run"); // run names may hold commas (sweep ids)
        const runs = findRunFolders(dir, cache);
        const selected = names.map((n) => runs.find((r) => r.name === n)).filter((r) => r !== undefined);
        return send(200, "application/json", JSON.stringify(boardCharts(selected, runs)));
      }
      send(404, "text/plain", "not found");
    } catch (err) {
      send(err instanceof UserError ? 400 : 500, "text/plain", (err as Error).message);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? new UserError(`board: port ${port} is in use (try --port 0 for any free port)`) : err));
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return { url: `http://127.0.0.1:${actual}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function boardCommand(dir: string | undefined, opts: { port?: number }): Promise<void> {
  const board = await startBoard(dir ?? "runs", opts.port ?? 6060);
  process.stdout.write(`dynamoe board: ${board.url} (runs under ${dir ?? "runs"}; the Playground at ${board.url}#playground; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => board.close().then(resolve)));
}
