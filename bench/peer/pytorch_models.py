#!/usr/bin/env python3
"""
PyTorch mirror of dynamoe's models, for `npm run bench -- --peer pytorch` (bench/peer/peer.ts).

Same layers, same parameter counts, same routing rules as the TypeScript models:

  image: flatten -> Linear(in, d) -> L x (pre-LayerNorm -> MoE or FFN -> residual) -> LayerNorm -> Linear(d, classes)
  LM:    token + position embedding -> L x (pre-LayerNorm -> MoE or FFN -> residual) -> LayerNorm -> head tied to the embedding

Each MoE layer is written the two ways PyTorch users write one:
  simple: every expert on every token (two wide matmuls over all N experts), masked by the combine weights;
  loop:   a loop over experts, each taking its tokens with index_select and adding its output back with
          index_add_ (Hugging Face's Mixtral block).

Routers (src/moe/router.ts): logits = x W_r / T, gates g = softmax(logits).
  percentile (src/moe/percentileRouter.ts): training adds N(0, noise^2) to the gates; theta = the tau-th
    percentile of the token's own noisy gates (numpy's linear interpolation); S = {i : g~_i > theta}, or
    {argmax g~} if empty; weights g_i / sum_S g_j (exactly 1 for a single expert); no auxiliary loss.
  switch (src/moe/switchRouter.ts): training multiplies the router input by U(1 - jitter, 1 + jitter);
    top-1 of the gates, each expert keeps its first C = max(minCapacity, ceil(f T / N)) tokens in token
    order, weight = the gate; aux = balanceCoef * N sum_i f_i P_i + zLossCoef * mean(logsumexp(logits)^2).

The training step is the one of src/train/trainStep.ts: cross-entropy plus auxiliary losses, backward,
global-norm clipping at 1.0 (scale min(1, clip / (norm + 1e-6)), as clip_grad_norm_), AdamW with decay on
every parameter except biases and LayerNorm parameters.

Modes (one JSON object per line on stdout, diagnostics on stderr):
  --info                          torch version, threads, the BLAS library actually loaded
  --check --spec JSON             parameter counts of both variants, gradients against a float64 copy,
                                  simple against loop; picks the GELU that passes (see GELU below)
  --serve --spec JSON --variant V a timing server: prints {"ready": ...}, then answers {"run": K} lines
                                  with K step times in ms, and {"quit": true} with its peak RSS

GELU: Debian's torch 1.13 float32 GELU backward can be wrong on non-contiguous gradients. The check
compares every gradient with a float64 copy; if the native GELU fails it, the check retries with a
GELU whose backward makes its gradient contiguous first ("contiguous"), then with the formula written
out ("manual"), and reports which one passed; --gelu then tells the timing server which to use.
"""
import argparse
import copy
import json
import math
import os
import re
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------- GELU


class _ContiguousGelu(torch.autograd.Function):
    """tanh-GELU whose backward hands aten's kernel a contiguous gradient."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.gelu(x, approximate="tanh")

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return torch.ops.aten.gelu_backward(grad.contiguous(), x, approximate="tanh")


GELU_MODES = ("native", "contiguous", "manual")
GELU_MODE = "native"


def gelu(x):
    """The tanh approximation, as ours (src/models/ffn.ts)."""
    if GELU_MODE == "native":
        return F.gelu(x, approximate="tanh")
    if GELU_MODE == "contiguous":
        return _ContiguousGelu.apply(x)
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def gelu_probe():
    """Native float32 GELU backward against float64 (max abs error), for a contiguous and a transposed
    gradient, tanh approximation (ours) and exact erf. On Debian's torch 1.13 the erf one is wrong on
    the transposed gradient (errors of order 10) and the tanh one is right."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 128, generator=g) * 3
    grads = {"contiguous": torch.randn(256, 128, generator=g), "transposed": torch.randn(128, 256, generator=g).t()}
    out = {}
    for approximate in ("tanh", "none"):
        for name, grad in grads.items():
            x32 = x.clone().requires_grad_(True)
            F.gelu(x32, approximate=approximate).backward(grad)
            x64 = x.double().requires_grad_(True)
            F.gelu(x64, approximate=approximate).backward(grad.double())
            err = float((x32.grad.double() - x64.grad).abs().max())
            out[f"{'tanh' if approximate == 'tanh' else 'erf'}_{name}"] = err if math.isfinite(err) else "nan"
    return out


# ------------------------------------------------------------------------------------------- routers


def draw_normal(shape, dtype):
    # Drawn in float32 and cast, so a float64 copy seeded alike sees exactly the same noise.
    return torch.randn(shape, dtype=torch.float32).to(dtype)


def draw_uniform(shape, lo, hi, dtype):
    return (torch.rand(shape, dtype=torch.float32) * (hi - lo) + lo).to(dtype)


def percentile_select(scores, tau):
    """`[T, N]` 0/1 mask: gates strictly above the row's tau-th percentile (linear interpolation), else the argmax."""
    n = scores.shape[-1]
    s, _ = scores.sort(-1)  # [T, N] ascending
    pos = (n - 1) * tau / 100
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    a = s[:, lo]
    theta = a if frac == 0 or hi == lo else a + (s[:, hi] - a) * frac  # numpy's lerp
    above = (scores > theta[:, None]).to(scores.dtype)
    none = above.sum(-1, keepdim=True) == 0  # [T, 1]
    fallback = F.one_hot(scores.argmax(-1), n).to(scores.dtype)  # first index on ties
    return torch.where(none, fallback, above)


def combine_weights(probs, mask):
    """`w_i = g_i / sum_S g_j`, exactly the mask where one expert is selected (src/moe/combineWeights.ts)."""
    kept = probs * mask
    total = kept.sum(-1, keepdim=True)
    safe = torch.where(total > 0, total, torch.ones_like(total))
    single = mask.sum(-1, keepdim=True) == 1
    return torch.where(single, mask, kept / safe)


class Router(nn.Module):
    """Bias-free linear router, weights N(0, 1/d); `forward(x) -> (mask [T, N], weights [T, N], aux scalar)`."""

    def __init__(self, d, n, cfg):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, n) / math.sqrt(d))
        self.cfg = cfg
        self.forced = None  # a selection to use instead of computing one (the float64 check)
        self.last = None  # the last selection (before capacity), for the float64 check

    def forward(self, x):
        cfg, kind = self.cfg, self.cfg["kind"]
        t, n = x.shape[0], self.w.shape[1]
        if self.training and cfg["jitter"] > 0:
            x = x * draw_uniform(x.shape, 1 - cfg["jitter"], 1 + cfg["jitter"], x.dtype)
        logits = (x @ self.w) / cfg["temperature"]  # [T, N]
        probs = logits.softmax(-1)  # [T, N]
        scores = probs.detach()
        if kind == "percentile":
            if self.training and cfg["noise"] > 0:
                scores = scores + draw_normal(probs.shape, probs.dtype) * cfg["noise"]
            sel = self.forced if self.forced is not None else percentile_select(scores, cfg["tau"])
            self.last = sel
            return sel, combine_weights(probs, sel), None
        # switch
        top1 = self.forced if self.forced is not None else F.one_hot(scores.argmax(-1), n).to(probs.dtype)
        self.last = top1
        factor = cfg["capacityFactorTrain"] if self.training else cfg["capacityFactorEval"]
        capacity = max(cfg["minCapacity"], math.ceil(factor * t / n - 1e-9))
        mask = top1 * (top1.cumsum(0) <= capacity).to(probs.dtype)
        balance = n * (top1.mean(0) * probs.mean(0)).sum()
        z = torch.logsumexp(logits, -1).square().mean()
        return mask, probs * mask, cfg["balanceCoef"] * balance + cfg["zLossCoef"] * z


# ---------------------------------------------------------------------------------------------- layers


def uniform(shape, fan_in):
    bound = 1 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)


class Ffn(nn.Module):
    """Linear(d, h) -> GELU -> Linear(h, d); also one expert of the loop MoE."""

    def __init__(self, d, h):
        super().__init__()
        self.up = nn.Linear(d, h)
        self.down = nn.Linear(h, d)

    def forward(self, x):
        return self.down(gelu(self.up(x)))


class MoeLayer(nn.Module):
    """N experts Linear(d, h) -> GELU -> Linear(h, d) and a router; `forward(x [T, d]) -> (y [T, d], aux)`."""

    def __init__(self, d, h, n, router_cfg, variant):
        super().__init__()
        self.router = Router(d, n, router_cfg)
        self.variant, self.n, self.h = variant, n, h
        # Drawn stacked in one order for both variants, so a seed gives both the same weights.
        w1, b1, w2, b2 = uniform([n, d, h], d), uniform([n, h], d), uniform([n, h, d], h), uniform([n, d], h)
        if variant == "simple":
            self.w1, self.b1, self.w2, self.b2 = (nn.Parameter(p) for p in (w1, b1, w2, b2))
        else:
            with torch.random.fork_rng():  # their own init draws must not shift the next layers' weights
                self.experts = nn.ModuleList(Ffn(d, h) for _ in range(n))
            with torch.no_grad():
                for e, ex in enumerate(self.experts):
                    ex.up.weight.copy_(w1[e].t())
                    ex.up.bias.copy_(b1[e])
                    ex.down.weight.copy_(w2[e].t())
                    ex.down.bias.copy_(b2[e])

    def forward(self, x):
        t, d = x.shape
        n, h = self.n, self.h
        mask, weights, aux = self.router(x)  # [T, N] each
        if self.variant == "simple":
            # Every expert on every token: [T, d] @ [d, N h] -> GELU -> masked -> [T, N h] @ [N h, d].
            hidden = gelu(torch.addmm(self.b1.reshape(n * h), x, self.w1.permute(1, 0, 2).reshape(d, n * h)))
            gated = (hidden.view(t, n, h) * weights.unsqueeze(-1)).reshape(t, n * h)
            return gated @ self.w2.reshape(n * h, d) + weights @ self.b2, aux
        # Mixtral's loop: each expert on its own tokens, added back in place.
        y = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            idx = torch.nonzero(mask[:, e]).squeeze(1)  # [T_e]
            if idx.numel() == 0:
                continue
            out = expert(x.index_select(0, idx)) * weights[idx, e, None]  # [T_e, d]
            y.index_add_(0, idx, out)
        return y, aux


class Block(nn.Module):
    def __init__(self, spec, layer, variant):
        super().__init__()
        d, h = spec["d"], spec["h"]
        self.norm = nn.LayerNorm(d, eps=1e-5)
        if spec["kind"] == "moe":
            self.moe = MoeLayer(d, h, spec["experts"][layer], spec["router"], variant)
        else:
            self.ffn = Ffn(d, h)

    def forward(self, x):
        """`[T, d] -> ([T, d], aux or None)`: the block's branch, without the residual."""
        normed = self.norm(x)
        if hasattr(self, "moe"):
            return self.moe(normed)
        return self.ffn(normed), None


def add_aux(total, aux):
    return total if aux is None else (aux if total is None else total + aux)


class ImageModel(nn.Module):
    def __init__(self, spec, variant):
        super().__init__()
        self.embed = nn.Linear(spec["inputDim"], spec["d"])
        self.head = nn.Linear(spec["d"], spec["numClasses"])
        self.blocks = nn.ModuleList(Block(spec, l, variant) for l in range(spec["layers"]))
        self.norm = nn.LayerNorm(spec["d"], eps=1e-5)

    def loss(self, x, y):
        hdn = self.embed(x)  # [B, d]
        aux = None
        for block in self.blocks:
            out, a = block(hdn)
            hdn = hdn + out
            aux = add_aux(aux, a)
        loss = F.cross_entropy(self.head(self.norm(hdn)), y)
        return loss if aux is None else loss + aux


class LmModel(nn.Module):
    def __init__(self, spec, variant):
        super().__init__()
        d = spec["d"]
        self.tokens = nn.Parameter(torch.randn(spec["vocab"], d) * 0.02)  # [V, d], also the head (tied)
        self.positions = nn.Parameter(torch.randn(spec["context"], d) * 0.02)
        self.blocks = nn.ModuleList(Block(spec, l, variant) for l in range(spec["layers"]))
        self.norm = nn.LayerNorm(d, eps=1e-5)

    def loss(self, ids, targets):
        b, s = ids.shape
        d = self.tokens.shape[1]
        x = (F.embedding(ids, self.tokens) + self.positions[:s]).reshape(b * s, d)  # [T, d]
        aux = None
        for block in self.blocks:
            out, a = block(x)
            x = x + out
            aux = add_aux(aux, a)
        logits = self.norm(x) @ self.tokens.t()  # [T, V]
        loss = F.cross_entropy(logits, targets)
        return loss if aux is None else loss + aux


def build(spec, variant, seed=0):
    torch.manual_seed(seed)
    return (ImageModel if spec["task"] == "image" else LmModel)(spec, variant).train()


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def decayed(name, model):
    """As src/train/paramTree.ts isDecayed: not biases, not LayerNorm scales and biases."""
    leaf = name.rsplit(".", 1)[-1]
    owner = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    return leaf not in ("bias", "b1", "b2") and not isinstance(owner, nn.LayerNorm)


def batches(spec, count=4, batch=None):
    """Random inputs of the benchmark's shapes, as bench/speed/imageSteps.ts and bench/speed/lm.ts make them."""
    out = []
    b = batch or spec["batch"]
    gen = torch.Generator().manual_seed(12345)
    for i in range(count):
        if spec["task"] == "image":
            x = torch.rand(b, spec["inputDim"], generator=gen) * 2 - 1
            y = torch.tensor([(j * 7) % spec["numClasses"] for j in range(b)], dtype=torch.long)
        else:
            t = b * spec["context"]
            v = spec["vocab"]
            x = torch.tensor([(j * 7919 + i * 104729) % v for j in range(t)], dtype=torch.long).reshape(b, spec["context"])
            y = torch.tensor([(j * 7919 + (i + 1) * 104729) % v for j in range(t)], dtype=torch.long)
        out.append((x, y))
    return out


# ------------------------------------------------------------------------------------------ the check


def routers(model):
    return [m for m in model.modules() if isinstance(m, Router)]


def canonical_grads(model):
    """Gradients by our parameter layout: a loop MoE's experts stacked as the simple variant's w1, b1, w2, b2."""
    def grad(p):  # an expert that got no token has no gradient: zero
        return p.grad if p.grad is not None else torch.zeros_like(p)

    out = {}
    for name, mod in model.named_modules():
        if isinstance(mod, MoeLayer) and mod.variant == "loop":
            ex = mod.experts
            out[name + ".w1"] = torch.stack([grad(e.up.weight).t() for e in ex])
            out[name + ".b1"] = torch.stack([grad(e.up.bias) for e in ex])
            out[name + ".w2"] = torch.stack([grad(e.down.weight).t() for e in ex])
            out[name + ".b2"] = torch.stack([grad(e.down.bias) for e in ex])
    for name, p in model.named_parameters():
        if ".experts." not in name:
            out[name] = grad(p)
    return out


def rel_err(a, b):
    """`||a - b|| / ||b||`, or `||a||` when b is zero (a router that gets no gradient)."""
    nb = float(b.double().norm())
    diff = float((a.double() - b.double()).norm())
    return diff / nb if nb > 1e-12 else diff


def forward_backward(model, x, y, seed):
    torch.manual_seed(seed)
    loss = model.loss(x, y)
    loss.backward()
    return float(loss)


def check_variant(spec, variant, batch):
    """Float32 gradients against a float64 copy (same weights, same noise, same selection)."""
    m32 = build(spec, variant)
    m64 = copy.deepcopy(m32).double()
    x, y = batches(spec, 1, batch)[0]
    loss32 = forward_backward(m32, x, y, 1)
    for r32, r64 in zip(routers(m32), routers(m64)):
        r64.forced = r32.last.double()
    loss64 = forward_backward(m64, x.double() if x.is_floating_point() else x, y, 1)
    g32, g64 = canonical_grads(m32), canonical_grads(m64)
    errs = {k: rel_err(g32[k], g64[k]) for k in g64}
    worst = max(errs, key=errs.get)
    return {"loss32": loss32, "loss64": loss64, "worstParam": worst, "worstRelErr": errs[worst], "ok": errs[worst] < 1e-3 and abs(loss32 - loss64) < 1e-4 * max(1, abs(loss64))}, m64


def check(spec, batch):
    """Parameter counts, the float64 gradient check per variant (trying each GELU until one passes), simple against loop."""
    global GELU_MODE
    result = {"params": {v: count_params(build(spec, v)) for v in ("simple", "loop")}, "geluProbe": gelu_probe(), "attempts": []}
    models = {}
    for mode in GELU_MODES:
        GELU_MODE = mode
        per = {}
        for v in ("simple", "loop"):
            per[v], models[v] = check_variant(spec, v, batch)
        result["attempts"].append({"gelu": mode, **per})
        if all(p["ok"] for p in per.values()):
            result["gelu"] = mode
            break
    else:
        result["gelu"] = None
    # Simple and loop in float64, same weights and selection: the same function.
    gs, gl = canonical_grads(models["simple"]), canonical_grads(models["loop"])
    result["simpleVsLoopRelErr"] = max(rel_err(gl[k], gs[k]) for k in gs)
    result["ok"] = result["gelu"] is not None and result["simpleVsLoopRelErr"] < 1e-9 and result["params"]["simple"] == result["params"]["loop"]
    return result


# -------------------------------------------------------------------------------------------- timing


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve(spec, variant, warmup):
    model = build(spec, variant)
    named = list(model.named_parameters())
    groups = [
        {"params": [p for n, p in named if decayed(n, model)], "weight_decay": 0.01},
        {"params": [p for n, p in named if not decayed(n, model)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    data = batches(spec)
    i = 0

    def step():
        nonlocal i
        x, y = data[i % len(data)]
        i += 1
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model.loss(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        value = loss.item()
        ms = (time.perf_counter() - t0) * 1000
        if not math.isfinite(value):
            raise RuntimeError(f"non-finite loss {value}")
        return ms

    first = [step() for _ in range(warmup)]
    emit({"ready": True, "params": count_params(model), "firstStepMs": first[0] if first else None, "threads": torch.get_num_threads()})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("quit"):
            emit({"peakRssMb": peak_rss_mb()})
            return
        emit({"times": [step() for _ in range(int(cmd["run"]))]})


# ---------------------------------------------------------------------------------------------- main


def blas_libraries():
    torch.randn(64, 64) @ torch.randn(64, 64)  # make sure the BLAS is loaded
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return sorted(libs)


def openblas_state():
    """The OpenBLAS core (kernel set) and thread count the loaded library runs, or None without OpenBLAS."""
    import ctypes
    for lib in blas_libraries():
        if "openblas" not in lib:
            continue
        try:
            so = ctypes.CDLL(lib)
            so.openblas_get_corename.restype = ctypes.c_char_p
            return {"core": so.openblas_get_corename().decode(), "threads": so.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return None


def info():
    config = torch.__config__.show()
    found = re.search(r"BLAS_INFO=([^,\s]+)", config)
    blas_info = found.group(1) if found else "?"
    libs = blas_libraries()
    return {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "blasInfo": blas_info,
        "blasLibraries": libs,
        "openblas": any("openblas" in l for l in libs),
        "openblasState": openblas_state(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    global GELU_MODE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--info", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--spec", help="the model, as JSON (see bench/peer/peer.ts)")
    ap.add_argument("--variant", choices=("simple", "loop"), default="simple")
    ap.add_argument("--gelu", choices=GELU_MODES, default="native")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--check-batch", type=int, help="batch of the float64 check (default: the spec's)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    GELU_MODE = args.gelu
    if args.info:
        emit(info())
        return
    spec = json.loads(args.spec)
    if spec["kind"] == "moe" and spec["router"]["kind"] not in ("percentile", "switch"):
        sys.exit(f"pytorch_models.py mirrors the percentile and switch routers only, not {spec['router']['kind']}")
    if spec["kind"] == "moe" and spec["router"].get("renormalize", "gates") != "gates":
        sys.exit("pytorch_models.py mirrors renormalize: gates only")
    if args.check:
        emit(check(spec, args.check_batch))
    elif args.serve:
        serve(spec, args.variant, args.warmup)
    else:
        ap.error("one of --info, --check, --serve")


if __name__ == "__main__":
    main()
