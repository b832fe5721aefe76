#!/bin/sh
# A new user's path, from the packed tarball (issue 22; not part of npm test; needs the npm
# registry and Debian's python3-torch and python3-pil):
#   npm pack → a fresh project installs the tarball (size printed) → a folder of the user's own
#   PNGs (MNIST digits 0–4, written by scripts/tarballTrialImages.ts) → npx dynamoe train --data →
#   npx dynamoe eval → npx dynamoe export → the exported module in PyTorch on the same test PNGs
#   (read with PIL). Prints both test accuracies; exits non-zero when they differ.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${TRIAL_DIR:-/tmp/dynamoe-tarball-trial}
rm -rf "$work" && mkdir -p "$work/project"
cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/dynamoe-*.tgz)
echo "tarball: $(du -k "$tarball" | cut -f1) kB"
cd "$work/project" && npm init -y >/dev/null && npm install --no-audit --no-fund "$tarball" >/dev/null 2>"$work/install.log"
if grep -qi "warn" "$work/install.log"; then echo "install warnings:"; cat "$work/install.log"; fi
echo "install: $(du -sm node_modules | cut -f1) MB in node_modules ($(ls node_modules | wc -l) entries)"
(cd "$repo" && node --import tsx scripts/tarballTrialImages.ts "$work/project/digits")
npx dynamoe train --data digits --epochs 3 --out run 2>/dev/null | grep -E "test accuracy|validation acc"
ours=$(npx dynamoe eval run | sed -n 's/^test accuracy *\([0-9.]*\)%.*/\1/p')
npx dynamoe export run >/dev/null
cat > eval_pytorch.py <<'PY'
import os, sys
import numpy as np, torch
from PIL import Image
sys.path.insert(0, "run/pytorch")
import dynamoe_model
model = dynamoe_model.load("run/pytorch")
pixels, labels = [], []
for label, cls in enumerate(model.class_names):
    for name in sorted(os.listdir(os.path.join("digits", "test", cls))):
        pixels.append(np.asarray(Image.open(os.path.join("digits", "test", cls, name)).convert("L"))[:, :, None])
        labels.append(label)
with torch.no_grad():
    logits = model(model.preprocess(np.stack(pixels)))
print(f"{100 * (logits.argmax(-1) == torch.tensor(labels)).float().mean().item():.2f}")
PY
theirs=$(/usr/bin/python3 eval_pytorch.py)
echo "dynamoe eval: ${ours}%   PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'): ${theirs}%"
[ "$ours" = "$theirs" ] && echo "tarball-trial: PASS" || { echo "tarball-trial: FAIL (accuracies differ)"; exit 1; }
