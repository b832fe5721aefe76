#!/usr/bin/env node
// The `dynamoe` executable: the built CLI (dist/, written by `npm run build`, and by `npm pack` before
// packing). In a source checkout that has not been built, it runs the TypeScript sources through tsx
// (a dev dependency), so `npm install && npx dynamoe train` works from a fresh clone.
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/bin.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/bin.ts", import.meta.url).href);
}
