/**
 * Render a Vega-Lite spec to SVG (vega-lite compiles it, vega renders it headless) and an SVG to PNG
 * (resvg). Both libraries load on first use, so commands that draw nothing do not pay for them.
 */
import type { TopLevelSpec } from "vega-lite";
import { importOptional } from "../io/optionalPackage.js";

/** SVG text of a Vega-Lite spec. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([importOptional<typeof import("vega")>("vega", "drawing charts", "vega vega-lite"), importOptional<typeof import("vega-lite")>("vega-lite", "drawing charts", "vega vega-lite")]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * PNG bytes of an SVG at `scale` × its size, or null when no rasteriser loads on this platform
 * (the caller keeps the SVG). Text uses the system's fonts (DejaVu Sans when present).
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array | null> {
  let Resvg: typeof import("@resvg/resvg-js").Resvg;
  try {
    ({ Resvg } = await import("@resvg/resvg-js"));
  } catch {
    return null;
  }
  const font = { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" };
  return new Resvg(svg, { fitTo: { mode: "zoom", value: scale }, font, background: "white" }).render().asPng();
}
