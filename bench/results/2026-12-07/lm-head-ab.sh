#!/bin/sh
# A/B of the LM head changes of 2026-12-07, alternating builds twice on one machine:
#   A = /work/code    (HEAD de60d0c: G written back into z)
#   B = /work/code-b  (G into a per-group scratch block)
#   C = /work/code-c  (B + G's rows padded to C + 16 floats)
#   D = /work/main    (C + the exponential's multiply-adds fused in the relaxed build)
# Each: npm run bench:lm -- --scales tiny,small --models moe-uniform --threads 1,2 --engines auto --steps 3 --warmup 1
out=${1:-/work/main/bench/results/2026-12-07/lm-head-ab}
mkdir -p "$out"
for round in 1 2; do
  for b in A:/work/code B:/work/code-b C:/work/code-c D:/work/main; do
    name=${b%%:*}; dir=${b#*:}
    echo "== round $round build $name ($dir) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/log.txt"
    (cd "$dir" && node --import tsx bench/speed/lm.ts --scales tiny,small --models moe-uniform --threads 1,2 --engines auto --steps 3 --warmup 1) > "$out/$name-$round.txt" 2>&1
    grep -E "tiny|small" "$out/$name-$round.txt" | tee -a "$out/log.txt"
  done
done
