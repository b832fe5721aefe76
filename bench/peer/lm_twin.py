#!/usr/bin/env python3
"""
PyTorch twin of dynamoe's dense language model and its training step, run by bench/peer/lmTwin.ts.

The model, in standard PyTorch modules (src/models/lmModel.ts):

  token embedding + learned position embedding
  -> L x ( [LayerNorm -> causal self-attention -> residual]   (attention only)
           LayerNorm -> Linear(d, h) -> tanh-GELU -> Linear(h, d) -> residual )
  -> LayerNorm -> logits = hidden E^T (tied to the token embedding) -> mean cross-entropy over B*S tokens

Attention is nanoGPT's: one Linear(d, 3d) whose output splits into q, k, v (each heads x d/heads,
heads contiguous), softmax(q k^T / sqrt(d/heads)) with a causal mask, Linear(d, d) out.

The step is ours (src/train/lmStep.ts, trainStep.ts, adamw.ts): backward, clip_grad_norm_ at `clip`
(scale min(1, clip / (norm + 1e-6)), as ours), torch.optim.AdamW with weight decay on exactly the
parameters ours decays (meta.json's `decayed`), the learning rate of each step from meta.json.

Reads from --work (written by lmTwin.ts): init.safetensors (our parameters, Linear weights [in, out]),
data.safetensors (token streams, batches [N, B]), meta.json. Before training it checks its loss at
the initial parameters on the first batch against ours (relative 1e-4) and its float32 gradients
against a float64 copy; then trains and writes twin.json. Progress goes to stderr.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAFE_DTYPES = {"F32": "<f4", "I32": "<i4", "U32": "<u4", "U8": "u1"}


def load_safetensors(path):
    """{name: numpy array} of a safetensors file (8-byte LE header length, JSON header, raw LE data)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + begin : base + end], dtype=SAFE_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


class Block(nn.Module):
    def __init__(self, d, h, heads, attention):
        super().__init__()
        self.heads = heads
        self.attention = attention
        if attention:
            self.ln1 = nn.LayerNorm(d)  # eps 1e-5, as ours
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.up = nn.Linear(d, h)
        self.down = nn.Linear(h, d)

    def attend(self, x):
        B, S, C = x.shape  # batch, sequence, channels
        dh = C // self.heads
        q, k, v = self.qkv(x).split(C, dim=2)  # each [B, S, C]
        q, k, v = (t.view(B, S, self.heads, dh).transpose(1, 2) for t in (q, k, v))  # each [B, H, S, dh]
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)  # [B, H, S, S]
        future = torch.ones(S, S, dtype=torch.bool).triu(1)  # [S, S] True above the diagonal
        attended = F.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v  # [B, H, S, dh]
        return self.proj(attended.transpose(1, 2).reshape(B, S, C))

    def forward(self, x):
        if self.attention:
            x = x + self.attend(self.ln1(x))
        return x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))


class LmModel(nn.Module):
    def __init__(self, meta):
        super().__init__()
        d = meta["d"]
        self.wte = nn.Embedding(meta["vocab"], d)
        self.wpe = nn.Embedding(meta["context"], d)
        self.blocks = nn.ModuleList(Block(d, meta["h"], meta["heads"], meta["attention"]) for _ in range(meta["layers"]))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, ids):
        """[B, S] int64 token ids -> [B*S, V] logits."""
        B, S = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(S))  # [B, S, d]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x).reshape(B * S, -1) @ self.wte.weight.t()  # [B*S, V]


# Our parameter paths (src/models/lmModel.ts) -> this model's; Linear weights are transposed ([in, out] -> [out, in]).
OURS_TO_TORCH = [
    ("embed.tokens", "wte.weight"),
    ("embed.positions", "wpe.weight"),
    ("norm.scale", "ln_f.weight"),
    ("norm.bias", "ln_f.bias"),
]
BLOCK_OURS_TO_TORCH = [
    ("attnNorm.scale", "ln1.weight"),
    ("attnNorm.bias", "ln1.bias"),
    ("attn.qkv.w", "qkv.weight"),
    ("attn.qkv.b", "qkv.bias"),
    ("attn.out.w", "proj.weight"),
    ("attn.out.b", "proj.bias"),
    ("norm.scale", "ln2.weight"),
    ("norm.bias", "ln2.bias"),
    ("ffn.up.w", "up.weight"),
    ("ffn.up.b", "up.bias"),
    ("ffn.down.w", "down.weight"),
    ("ffn.down.b", "down.bias"),
]


def torch_name(path):
    for ours, theirs in OURS_TO_TORCH:
        if path == ours:
            return theirs
    _, layer, rest = path.split(".", 2)  # blocks.{l}.{rest}
    return f"blocks.{layer}." + dict(BLOCK_OURS_TO_TORCH)[rest]


def load_ours(model, tensors):
    """Copy our parameters into the model; every parameter on both sides must be matched, shapes exact."""
    state = {}
    for path, value in tensors.items():
        t = torch.from_numpy(value.copy())
        state[torch_name(path)] = t.t().contiguous() if path.endswith(".w") else t
    expected = {k: v.shape for k, v in model.state_dict().items()}
    got = {k: v.shape for k, v in state.items()}
    if expected != got:
        raise SystemExit(f"lm_twin: parameter layouts differ:\n  torch {expected}\n  ours  {got}")
    model.load_state_dict(state, strict=True)


def gather(tokens, starts, S):
    """Sequences starting at `starts` [B] (in tokens) -> inputs and next-token targets, [B, S] int64 each."""
    seq = tokens[starts[:, None] + torch.arange(S + 1)[None, :]]  # [B, S+1]
    return seq[:, :-1], seq[:, 1:]


def batch_at(data, meta, step):
    return gather(data["train"], data["batches"][step] * meta["context"], meta["context"])


def grad_check(model, x, y):
    """Largest relative error (by norm) of any float32 gradient against a float64 copy's, on (x, y)."""
    double = copy.deepcopy(model).double()
    for m in (model, double):
        m.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y.reshape(-1)).backward()
    worst = 0.0
    for p, q in zip(model.parameters(), double.parameters()):
        err = ((p.grad.double() - q.grad).norm() / q.grad.norm().clamp_min(1e-30)).item()
        worst = max(worst, err)
    model.zero_grad(set_to_none=True)
    return worst


@torch.no_grad()
def evaluate(model, tokens, meta):
    """Mean cross-entropy over the first `evalSequences` sequences of the stream, in order."""
    S, n, bs = meta["context"], meta["evalSequences"], meta["evalBatchSize"]
    total = 0.0
    for start in range(0, n, bs):
        starts = torch.arange(start, min(start + bs, n)) * S
        x, y = gather(tokens, starts, S)
        total += F.cross_entropy(model(x), y.reshape(-1), reduction="sum").item()
    loss = total / (n * S)
    return {"loss": loss, "perplexity": math.exp(loss), "tokens": n * S}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-only", action="store_true", help="stop after the step-0 checks")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    log = lambda s: print(f"twin: {s}", file=sys.stderr, flush=True)

    with open(os.path.join(args.work, "meta.json")) as f:
        meta = json.load(f)
    data = {k: torch.from_numpy(v.astype(np.int64)) for k, v in load_safetensors(os.path.join(args.work, "data.safetensors")).items()}
    model = LmModel(meta)
    load_ours(model, load_safetensors(os.path.join(args.work, "init.safetensors")))

    x, y = batch_at(data, meta, 0)
    with torch.no_grad():
        init_loss = F.cross_entropy(model(x), y.reshape(-1)).item()
    rel = abs(init_loss - meta["oursInitLoss"]) / abs(init_loss)
    log(f"loss at the initial parameters, first batch: twin {init_loss:.6f}, ours {meta['oursInitLoss']:.6f}, relative difference {rel:.2e}")
    if rel > 1e-4:
        raise SystemExit(f"lm_twin: step-0 loss differs from ours by {rel:.2e} relative (> 1e-4): the models are not the same")
    grad_err = grad_check(model, x[:4], y[:4])
    log(f"float32 gradients against float64 (4 sequences): worst relative error {grad_err:.2e}")
    if grad_err > 1e-3:
        raise SystemExit(f"lm_twin: float32 gradients are off by {grad_err:.2e} relative: this torch build is not trustworthy here")
    if args.check_only:
        return

    decayed = {torch_name(p) for p in meta["decayed"]}
    named = dict(model.named_parameters())
    groups = [
        {"params": [p for n, p in named.items() if n in decayed], "weight_decay": meta["weightDecay"]},
        {"params": [p for n, p in named.items() if n not in decayed], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=meta["lrs"][0], betas=(meta["beta1"], meta["beta2"]), eps=meta["eps"])
    losses, seconds = [], []
    for step in range(meta["steps"]):
        t0 = time.perf_counter()
        x, y = batch_at(data, meta, step)  # [B, S] each
        for g in opt.param_groups:
            g["lr"] = meta["lrs"][step]
        loss = F.cross_entropy(model(x), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), meta["clip"])
        opt.step()
        seconds.append(time.perf_counter() - t0)
        losses.append(loss.item())
        log(f"step {step} loss {losses[-1]:.4f} grad norm {norm.item():.3f} ({seconds[-1]:.2f} s)")
    validation = evaluate(model, data["validation"], meta)
    log(f"validation loss {validation['loss']:.4f}, ppl {validation['perplexity']:.2f}")
    result = {"initLoss": init_loss, "gradCheck": grad_err, "losses": losses, "stepSeconds": seconds, "validation": validation, "torch": torch.__version__, "threads": torch.get_num_threads()}
    with open(os.path.join(args.work, "twin.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
