/**
 * jax-js, as every dynamoe module imports it: `./preload.js` runs first so the wasm backend starts
 * with the right globals (worker pool, thread count). Import jax-js through this file, never directly.
 */
import "./preload.js";

export * from "@jax-js/jax";
