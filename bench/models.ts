/** The models the benches name (image or language models) (`dense`, `moe-<schedule>`, `moe-<router>`, `moe-top<k>`), as run configurations for `resolveConfig`. */
const ROUTER_MODELS = ["topk", "switch", "gshard", "expert-choice", "top-p", "threshold", "batch-percentile"];

/** The run configuration a model name stands for. */
export function modelConfig(model: string, dispatch: string): Record<string, unknown> {
  if (model === "dense") return { model: "dense" };
  const name = model.replace(/^moe-/, "");
  const base = { model: "moe", dispatch };
  const topK = /^top(\d+)$/.exec(name);
  if (topK) return { ...base, router: { kind: "topk", k: Number(topK[1]) } };
  if (ROUTER_MODELS.includes(name)) return { ...base, router: { kind: name } };
  return { ...base, schedule: name };
}

