/**
 * The layering of src/, checked in CI (`npm run check:layers`, and `test/architecture/layers.test.ts`
 * in `npm test`): imports run one way, from a folder to the folders listed before it, never after,
 * and there are no cycles.
 *
 *   errors ← io ← engine ← data ← kernels ← moe ← models ← analysis ← steps ← train ← report, sweep ← reproduce ← cli ← index
 *
 * `analysis` sits below the training loop because the loop measures routing and gradient variance
 * while it trains; the report renders those measurements above it.
 */
const LAYERS = ["errors", "io", "engine", "data", "kernels", "moe", "models", "analysis", "steps", "train", "report", "sweep", "reproduce", "cli", "index"];

/** The path pattern of a layer: a folder under src/, or one of src/'s top-level files. */
const pathOf = (layer) => (layer === "errors" || layer === "index" ? `^src/${layer}\\.ts$` : `^src/${layer}/`);

/** Layers at the same level that must not import each other either. */
const PEERS = [["report", "sweep"]];

const upward = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1);
  if (above.length === 0) return [];
  return [
    {
      name: `no-upward-from-${layer}`,
      comment: `${layer} may import only the layers below it (${LAYERS.slice(0, i).join(", ") || "none"})`,
      severity: "error",
      from: { path: pathOf(layer) },
      to: { path: above.map(pathOf) },
    },
  ];
});

const peers = PEERS.flatMap(([a, b]) => [
  { name: `no-${a}-to-${b}`, comment: `${a} and ${b} are peers`, severity: "error", from: { path: pathOf(a) }, to: { path: pathOf(b) } },
  { name: `no-${b}-to-${a}`, comment: `${a} and ${b} are peers`, severity: "error", from: { path: pathOf(b) }, to: { path: pathOf(a) } },
]);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "no import cycles, type-only imports included",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-unknown-folder",
      comment: "every file under src/ belongs to a layer of .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/", pathNot: LAYERS.map(pathOf) },
      to: {},
    },
    ...upward,
    ...peers,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.c$|\\.h$" },
  },
};
