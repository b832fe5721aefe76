#!/bin/sh
# A/B of the router draws on the kernels (2026-12-07), alternating twice on one machine:
#   A = /work/code-h (commit 5865cb7: uniform draws and the jitter product in JavaScript)
#   B = /work/main   (threefry_uniform and mul in the kernel module, on the pool's threads)
out=${1:-/work/main/bench/results/2026-12-07/draws-ab}
mkdir -p "$out"
for round in 1 2; do
  for b in A:/work/code-h B:/work/main; do
    name=${b%%:*}; dir=${b#*:}
    echo "== round $round build $name ($dir) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/log.txt"
    (cd "$dir" && node --import tsx bench/speed/imageSteps.ts --models dense,moe-uniform,moe-switch,moe-gshard --dispatch native --threads 1,2 --steps 40) > "$out/$name-$round.txt" 2>&1
    grep -E "^\| (dense|moe)" "$out/$name-$round.txt" | tee -a "$out/log.txt"
  done
done
