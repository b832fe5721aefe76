/**
 * The safetensors format lives in `src/io/safetensors.ts`, below `data/` (which reads datasets stored
 * as safetensors). This re-export keeps the imports of `exportPytorch.ts` and `loadRun.ts` working
 * until they import `../io/safetensors.js` themselves.
 */
export * from "../io/safetensors.js";
