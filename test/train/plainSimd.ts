/**
 * Side-effect module, imported first by tests that compare with numbers written by older code (which
 * had only plain SIMD): the whole process, jax-js included, and the CLI processes it starts run plain
 * SIMD. It must be evaluated before `src/engine/preload.ts` decides.
 */
process.env.DYNAMOE_SIMD = "plain";
export {};
