/**
 * The output layer's implementations (`linearCrossEntropy` in `lmHead.ts`), a plain list the config
 * schema can import without loading the engine: `fused` is our WebAssembly SIMD kernel (CPU, d a
 * multiple of 8), `jax` the jax-js ops (any device; the reference), `auto` fused where it applies.
 */
export const HEAD_KERNELS = ["auto", "fused", "jax"] as const;
export type HeadKernel = (typeof HEAD_KERNELS)[number];
