#!/usr/bin/env node
// Built entry point (npm run build writes dist/). From a source checkout without a build, use
// `node --import tsx src/cli/bin.ts`.
await import("../dist/cli/bin.js");
