/**
 * Packages that only some work needs (language models: js-tiktoken, hyparquet; charts: vega,
 * vega-lite, @resvg/resvg-js; the CIFAR-10 tarball: tar-stream) are optional peer dependencies, so an
 * image-only install stays small. They load on first use; a missing one is one line naming the
 * install, never a stack trace.
 */
import { createRequire } from "node:module";
import { UserError } from "../errors.js";

const require = createRequire(import.meta.url);

/** Whether `err` says that `name` itself (not something inside it) could not be found. */
function missing(err: unknown, name: string): boolean {
  const e = err as NodeJS.ErrnoException;
  return (e?.code === "MODULE_NOT_FOUND" || e?.code === "ERR_MODULE_NOT_FOUND") && String(e.message).includes(`'${name.split("/").slice(0, name.startsWith("@") ? 2 : 1).join("/")}`);
}

/** The one line for a missing optional package. */
export function missingPackageError(name: string, what: string, install?: string): UserError {
  const pkg = name.split("/").slice(0, name.startsWith("@") ? 2 : 1).join("/");
  return new UserError(`${what} needs the package ${pkg}, which is not installed: npm install ${install ?? pkg}`);
}

/** `require(name)` for CommonJS-loadable packages, synchronously. */
export function requireOptional<T>(name: string, what: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    if (missing(err, name)) throw missingPackageError(name, what);
    throw err;
  }
}

/** `import(name)`, for ES-module packages; `install` names what to install when it is several packages. */
export async function importOptional<T>(name: string, what: string, install?: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    if (missing(err, name)) throw missingPackageError(name, what, install);
    throw err;
  }
}
