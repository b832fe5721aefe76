/**
 * WebGPU in Node: jax-js's `webgpu` backend asks `navigator.gpu` for an adapter, which Node does not
 * have. The `webgpu` npm package (Google's Dawn, built for Node) provides one; it is an optional
 * peer dependency (about 20 MB per platform), so `--device webgpu` asks for it when it is missing.
 *
 * On Linux, Dawn reaches the GPU through Vulkan: it needs `libvulkan1` and the GPU's Vulkan driver
 * (NVIDIA's driver ships one). Without them, or without a GPU, there is no adapter, and we say so.
 */
import { UserError } from "../errors.js";

type Gpu = { requestAdapter(opts?: { powerPreference?: string }): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> };
type DawnModule = { create(flags: string[]): Gpu; globals: object };

/** Describes the adapter found. Throws a `UserError` saying what is missing when there is none. */
export async function installWebGpu(): Promise<string> {
  let dawn: DawnModule;
  try {
    dawn = (await import("webgpu")) as unknown as DawnModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND") throw new UserError("--device webgpu needs the `webgpu` package (Dawn for Node): npm install webgpu");
    throw new UserError(`--device webgpu: the \`webgpu\` package failed to load: ${(err as Error).message.split("\n")[0]}`);
  }
  const g = globalThis as Record<string, unknown>;
  Object.assign(g, dawn.globals);
  const gpu = dawn.create([]);
  // preload.ts defines our own `navigator`; add the GPU to it.
  Object.defineProperty(g, "navigator", { value: { ...((g.navigator as object | undefined) ?? {}), gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new UserError(
      "--device webgpu: no WebGPU adapter found (no GPU, or no Vulkan: on Debian/Ubuntu install libvulkan1 and the GPU's Vulkan driver; Dawn's messages above say more). Training runs on the CPU without --device.",
    );
  }
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.description].filter((s) => s).join(" ") || "unnamed adapter";
}
