/**
 * The Python module `dynamoe export --format pytorch` writes beside the weights: the image model or
 * the language model in plain PyTorch, evaluation only, with the routing rules that depend on the
 * token alone. It reads the exported `config.json` and `model.safetensors` itself (a dozen lines of
 * numpy), so it needs only torch and numpy. Kept as text here so that it ships inside the package.
 */
export const PYTORCH_MODULE = String.raw`"""
A dynamoe model in plain PyTorch (evaluation), written by \`dynamoe export --format pytorch\`:
the image classifier (DynaMoEImage) or the language model (DynaMoELM), as config.json's "task" says.

    import torch, dynamoe_model
    model = dynamoe_model.load(".")          # the folder with config.json and model.safetensors
  an image model:
    logits = model(x)                        # x: [B, input_dim] float32, normalised as dynamoe does
    logits = model(model.preprocess(pixels)) # pixels: uint8 [B, H, W, C] or [B, input_dim], 0..255
  a language model:
    logits = model(tokens)                   # tokens: int64 [B, S] ids (GPT-2 BPE), S <= context; logits [B, S, vocab]

  image  flatten -> Linear(input, d) -> L x (LayerNorm -> MoE or FFN -> residual) -> LayerNorm -> Linear(d, classes)
  lm     Embedding(token) + Embedding(position) -> L x ([LayerNorm -> causal attention -> residual]
         -> LayerNorm -> MoE or FFN -> residual) -> LayerNorm -> x E^T, E the token embedding (tied head, no bias)

Every position of a language model is predicted from its own token and position alone unless
config.json has "attention": GPT-2's causal multi-head self-attention before each MoE block, with
q, k, v from one Linear(d, 3d) (in that order, each head's d/H columns consecutive),
softmax(q k^T / sqrt(d/H)) over the positions up to and including the query's, and the heads
concatenated into Linear(d, d). LayerNorm epsilon is 1e-5 everywhere.

An MoE layer routes each token with g = softmax(x W_r / T) and a rule that selects experts from g;
the output is sum_i w_i E_i(x) over the selected experts, with E_i(x) = down_i(GELU_tanh(up_i(x))) and
w the selected gates renormalised (exactly 1 for a single expert). Rules (src/moe/routers/ in dynamoe):
  percentile  every expert whose gate is strictly above the tau-th percentile of the token's own gates
              (linear interpolation, as numpy), or the argmax if none is
  topk        the k largest gates (ties: the lower index); aux-free is topk
  adamoe      topk over the N experts' and the null experts' gates ("width" outputs in all); null
              experts compute nothing, and the weights are renormalised over the real experts chosen
  top-p       largest first, up to and including the expert at which the sum reaches p
  threshold   every expert whose gate is at least t, or the argmax if none is
  remoe       g = ReLU(x W_r / T) instead of the softmax; every expert with g_i > 0 (possibly none),
              weighted by g_i itself (not renormalised)
  top-any     s = sigmoid(x W_r / T); every expert with s_i > sigmoid(theta_i) (theta: "thresholds" in the
              state dict), or the argmax if none is; each with weight 1
A router with a balancing bias b (aux-free, or any rule trained with biasRate > 0; "selection_bias" in
config.json) applies its rule to g + b instead of g; the weights w still come from g.
The state dict uses PyTorch's layout: Linear weights [out, in], LayerNorm weight/bias, one module per expert.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    """A safetensors file as a dict of float32 tensors (the format: 8-byte header length, JSON header, data)."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{name}: {t['dtype']}"
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob, dtype="<f4", count=(b - a) // 4, offset=8 + n + a).copy()).reshape(t["shape"])
    return out


class Expert(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.up = nn.Linear(d, h)
        self.down = nn.Linear(h, d)

    def forward(self, x):
        return self.down(F.gelu(self.up(x), approximate="tanh"))


def select(rule, g):
    """The [T, N] 0/1 mask of a rule on the gates g [T, N]."""
    kind, n = rule["kind"], g.shape[-1]
    rank = torch.argsort(torch.argsort(-g, dim=-1, stable=True), dim=-1, stable=True)  # 0 = largest, ties: lower index first
    if kind in ("topk", "aux-free", "adamoe"):
        return (rank < max(1, min(rule["k"], n))).float()
    if kind == "top-p":
        s, _ = torch.sort(g, dim=-1, descending=True, stable=True)
        reached = (torch.cumsum(s, -1) >= rule["p"]).float()
        count = ((torch.cumsum(reached, -1) - reached) == 0).float().sum(-1, keepdim=True)
        return (rank < count).float()
    if kind == "percentile":
        s, _ = torch.sort(g, dim=-1)
        pos = (n - 1) * rule["tau"] / 100
        lo = int(pos // 1)
        hi, frac = min(lo + 1, n - 1), pos - lo
        theta = s[:, lo] if frac == 0 or hi == lo else s[:, lo] + (s[:, hi] - s[:, lo]) * frac
        mask = (g > theta[:, None]).float()
    elif kind == "threshold":
        mask = (g >= rule["threshold"]).float()
    else:
        raise ValueError(f"router {kind}: not exported")
    fallback = F.one_hot(torch.argmax(g, -1), n).float()
    return torch.where(mask.sum(-1, keepdim=True) == 0, fallback, mask)


class MoE(nn.Module):
    def __init__(self, d, h, experts, rule):
        super().__init__()
        self.rule = rule
        self.router = nn.Linear(d, rule.get("width", experts), bias=False)  # [N + null experts, d]
        self.experts = nn.ModuleList(Expert(d, h) for _ in range(experts))
        if rule.get("selection_bias"):
            self.register_buffer("selection_bias", torch.zeros(experts))
        if rule["kind"] == "top-any":
            self.thresholds = nn.Parameter(torch.zeros(experts))

    def forward(self, x):
        if self.rule["kind"] == "top-any":
            s = torch.sigmoid(self.router(x) / self.rule["temperature"])
            mask = (s > torch.sigmoid(self.thresholds)).float()
            fallback = F.one_hot(torch.argmax(s, -1), s.shape[-1]).float()
            mask = torch.where(mask.sum(-1, keepdim=True) == 0, fallback, mask)
            return self.combine(x, mask, mask)
        if self.rule["kind"] == "remoe":
            g = torch.relu(self.router(x) / self.rule["temperature"])
            return self.combine(x, (g > 0).float(), g)
        g = torch.softmax(self.router(x) / self.rule["temperature"], -1)
        mask = select(self.rule, g + self.selection_bias if self.rule.get("selection_bias") else g)
        n = len(self.experts)
        g, mask = g[:, :n], mask[:, :n]  # null experts (adamoe) compute nothing
        base = g if self.rule["renormalize"] == "gates" else torch.exp(g)
        kept = base * mask
        total = kept.sum(-1, keepdim=True)
        w = torch.where(mask.sum(-1, keepdim=True) == 1, mask, kept / torch.where(total > 0, total, torch.ones_like(total)))
        return self.combine(x, mask, w)

    def combine(self, x, mask, w):
        """sum_i w_i E_i(x) over each token's selected experts: [T, d] -> [T, d]."""
        y = torch.zeros_like(x)
        for i, expert in enumerate(self.experts):
            rows = torch.nonzero(mask[:, i]).flatten()
            if len(rows):
                y.index_add_(0, rows, w[rows, i : i + 1] * expert(x[rows]))
        return y


class Block(nn.Module):
    """Pre-LayerNorm MoE or FFN block with a residual: [T, d] -> [T, d]."""

    def __init__(self, d, h, layer):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        if layer["kind"] == "moe":
            self.moe = MoE(d, h, layer["experts"], layer["router"])
            if layer.get("shared_hidden"):
                self.shared = Expert(d, layer["shared_hidden"])  # always-on shared experts, one FFN of S*h
        else:
            self.ffn = Expert(d, h)

    def forward(self, x):
        n = self.norm(x)
        if hasattr(self, "moe"):
            return x + self.moe(n) + (self.shared(n) if hasattr(self, "shared") else 0)
        return x + self.ffn(n)


class DynaMoEImage(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, h = config["d"], config["h"]
        self.embed = nn.Linear(config["input_dim"], d)
        self.blocks = nn.ModuleList(Block(d, h, layer) for layer in config["layers"])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, config["num_classes"])
        self.class_names = config.get("class_names")
        norm = config.get("normalize")
        self.norm_mean = None if norm is None else torch.tensor(norm["mean"], dtype=torch.float32)
        self.norm_std = None if norm is None else torch.tensor(norm["std"], dtype=torch.float32)

    def preprocess(self, pixels):
        """8-bit pixels, channels last ([B, H, W, C] or [B, input_dim]), normalised as in training."""
        if self.norm_mean is None:
            raise ValueError("the export has no normalisation record: normalise the input yourself")
        x = torch.as_tensor(pixels).float().reshape(len(pixels), -1, len(self.norm_mean)) / 255
        return ((x - self.norm_mean) / self.norm_std).reshape(len(pixels), -1)

    def forward(self, x):
        x = self.embed(x.reshape(x.shape[0], -1))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


class Attention(nn.Module):
    """Causal multi-head self-attention (GPT-2): [B, S, d] -> [B, S, d]."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        B, S, d = x.shape  # batch, sequence, width
        dh = d // self.heads
        q, k, v = self.qkv(x).view(B, S, 3, self.heads, dh).permute(2, 0, 3, 1, 4)  # each [B, H, S, dh]
        scores = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(dh))  # [B, H, S, S]
        future = torch.ones(S, S, dtype=torch.bool, device=x.device).triu(1)
        a = torch.softmax(scores.masked_fill(future, float("-inf")), -1) @ v  # [B, H, S, dh]
        return self.out(a.transpose(1, 2).reshape(B, S, d))


class LmBlock(Block):
    """[LayerNorm -> causal attention -> residual] then the MoE or FFN block on each position: [B, S, d] -> [B, S, d]."""

    def __init__(self, d, h, layer, heads=None):
        super().__init__(d, h, layer)
        if heads:
            self.attn_norm = nn.LayerNorm(d, eps=1e-5)
            self.attn = Attention(d, heads)

    def forward(self, x):
        if hasattr(self, "attn"):
            x = x + self.attn(self.attn_norm(x))
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)  # routing is per position: [B*S, d]


class DynaMoELM(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, h, attention = config["d"], config["h"], config["attention"]
        self.tokens = nn.Embedding(config["vocab"], d)  # also the output layer (tied)
        self.positions = nn.Embedding(config["context"], d)
        self.blocks = nn.ModuleList(LmBlock(d, h, layer, attention and attention["heads"]) for layer in config["layers"])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.tokenizer = config.get("tokenizer")
        self.eot = config.get("eot")

    def forward(self, tokens):
        """tokens: int64 [B, S], S <= context -> next-token logits [B, S, vocab]."""
        B, S = tokens.shape
        x = self.tokens(tokens) + self.positions.weight[:S]  # [B, S, d]
        for block in self.blocks:
            x = block(x)
        return self.norm(x) @ self.tokens.weight.T


def load(folder="."):
    """The exported model, in evaluation mode, with its weights."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = DynaMoELM(config) if config.get("task") == "lm" else DynaMoEImage(config)
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
    return model.eval()
`;
