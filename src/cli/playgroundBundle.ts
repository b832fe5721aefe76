/**
 * The Playground's browser bundle: `playgroundWorker.ts` and everything it imports (the native step,
 * the kernels, jax-js), built by esbuild into one ES module for a Web Worker. Node-only code stays out:
 * `engine/preload.ts` (node:os, node:v8, jax-js's Node worker adapter) is replaced by its browser twin
 * `engine/browserPreload.ts`, and a page has no `process.env` (every `DYNAMOE_*` setting reads as
 * unset). Any other `node:` import fails the build (`test/cli/playgroundBundle.test.ts` checks the graph).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingPackageError } from "../io/optionalPackage.js";

export type PlaygroundBundle = { code: string; /** Source files in the bundle, relative to the package root. */ inputs: string[] };

const HERE = dirname(fileURLToPath(import.meta.url));

/** Build the worker bundle (about a second; the board builds it once, on first request). */
export async function buildPlaygroundBundle(): Promise<PlaygroundBundle> {
  const require = createRequire(import.meta.url);
  let esbuild: typeof import("esbuild");
  try {
    esbuild = require("esbuild") as typeof import("esbuild");
  } catch {
    throw missingPackageError("esbuild", "the board's playground", "esbuild");
  }
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js"; // from the sources (tsx) or the built package
  const twin = join(HERE, "..", "engine", `browserPreload${ext}`);
  const result = await esbuild.build({
    entryPoints: [join(HERE, `playgroundWorker${ext}`)],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    write: false,
    metafile: true,
    minify: true,
    logLevel: "silent",
    define: { "process.env": "{}" },
    plugins: [
      {
        name: "dynamoe-browser",
        setup(build) {
          const preload = join(HERE, "..", "engine", "preload.js");
          build.onResolve({ filter: /\/preload\.js$/ }, (args) => (join(args.resolveDir, args.path) === preload ? { path: twin } : undefined));
        },
      },
    ],
  });
  const root = join(HERE, "..", "..");
  const inputs = Object.keys(result.metafile.inputs).map((p) => (p.startsWith("/") ? p.slice(root.length + 1) : p));
  return { code: result.outputFiles[0].text, inputs };
}
