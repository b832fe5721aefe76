#!/bin/sh
# A/B of running a MoE layer's experts whole, as the chunks of one pool call (Kernels.each), 2026-12-07:
#   A = /work/code-i (commit 3904a2b: every expert's product split by rows over the threads)
#   B = /work/main   (each phase's products as one call, whole experts claimed by the threads)
out=${1:-/work/main/bench/results/2026-12-07/experts-ab}
mkdir -p "$out"
for round in 1 2 3; do
  for b in A:/work/code-i B:/work/main; do
    name=${b%%:*}; dir=${b#*:}
    echo "== round $round build $name ($dir) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/log.txt"
    (cd "$dir" && node --import tsx bench/speed/imageSteps.ts --models moe-uniform,moe-descending,moe-switch --dispatch native --threads 1,2 --steps 40) > "$out/$name-$round.txt" 2>&1
    grep -E "native step" "$out/$name-$round.txt" | awk -F'|' '{print $2,$5,$6}' | tee -a "$out/log.txt"
  done
done
for b in A:/work/code-i B:/work/main; do
  name=${b%%:*}; dir=${b#*:}
  echo "== LM build $name load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/log.txt"
  (cd "$dir" && node --import tsx bench/speed/lm.ts --scales tiny,small --models moe-uniform --threads 2 --engines auto --steps 3 --warmup 1) > "$out/lm-$name.txt" 2>&1
  grep -E "head=native" "$out/lm-$name.txt" | tee -a "$out/log.txt"
done
