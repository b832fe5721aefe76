/**
 * Engine start-up: starts jax-js's wasm backend (the default, CPU) or its WebGPU backend. Call
 * `initEngine()` once before creating arrays; every dynamoe entry point (CLI, `train`, tests,
 * benchmarks) does.
 *
 * The thread count is fixed when jax-js loads (see `preload.ts`): set `DYNAMOE_THREADS` in the
 * environment, or pass `--threads` to the CLI, which sets it before loading anything else. The device
 * is `DYNAMOE_DEVICE` (`wasm` or `webgpu`; the CLI's `--device`) unless given here.
 */
import { UserError } from "../errors.js";
import { defaultDevice, init } from "./jax.js";
import { preparedThreads } from "./preload.js";
import { installWebGpu } from "./webgpu.js";

export const DEVICES = ["wasm", "webgpu"] as const;
export type Device = (typeof DEVICES)[number];

export type EngineInfo = { device: Device; threads: number; /** The GPU adapter, on webgpu. */ adapter?: string };

let started: Promise<EngineInfo> | null = null;
let startedOn: Device | null = null;

/** The device named by `DYNAMOE_DEVICE` (default wasm). */
export function deviceFromEnv(): Device {
  const raw = process.env.DYNAMOE_DEVICE;
  if (raw === undefined || raw === "") return "wasm";
  if (!(DEVICES as readonly string[]).includes(raw)) throw new UserError(`--device must be one of ${DEVICES.join(", ")}, got "${raw}"`);
  return raw as Device;
}

/** Start the backend (idempotent; one device per process). Resolves to the device and thread count in use. */
export function initEngine(opts: { device?: Device } = {}): Promise<EngineInfo> {
  const device = opts.device ?? deviceFromEnv();
  if (started && startedOn !== device) throw new Error(`the engine already runs on ${startedOn}; one device per process`);
  startedOn = device;
  started ??= (async () => {
    if (device === "webgpu") {
      const adapter = await installWebGpu();
      const devices = await init("webgpu");
      if (!devices.includes("webgpu")) throw new UserError(`--device webgpu: jax-js could not start its WebGPU backend on ${adapter}`);
      defaultDevice("webgpu");
      return { device, threads: preparedThreads, adapter };
    }
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error("jax-js wasm backend failed to start");
    defaultDevice("wasm");
    return { device: "wasm" as const, threads: preparedThreads };
  })();
  return started;
}
