#!/bin/bash
# Issue 20's tables on the machine of session 32 (2026-12-07, an Intel Xeon with AVX-512; the earlier
# tables of this folder are from an AMD EPYC), with nothing else running. The code is the commit in
# log.txt. The A/B's builds (git worktrees, node_modules linked): A = ed5fa4e at /tmp/old (before this
# session), B = f65fef3 at /tmp/routing (the host routing made cheaper), C = /work/main (products with
# few rows split by panels of columns over the threads).
cd /work/main
O=bench/results/2026-12-07/xeon
mkdir -p $O
log() { echo "$1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $O/log.txt; }
log "start commit $(git rev-parse --short HEAD)"
lscpu | grep -E "Model name|^L1d|^L2|^L3|Flags" | sed 's/Flags:.*\(avx512f\).*/Flags: ... avx512f .../' > $O/cpu.txt
# 1. The A/B/C, twice, alternating.
for round in 1 2; do
  for b in A:/tmp/old B:/tmp/routing C:/work/main; do
    name=${b%%:*}; dir=${b#*:}
    log "ab round $round build $name"
    (cd "$dir" && node --import tsx bench/speed/imageSteps.ts --models moe-uniform,moe-descending,moe-switch,moe-top2 --dispatch native --threads 1,2 --steps 40) > $O/ab-$name-$round.txt 2>&1
    grep -E "^\| moe" $O/ab-$name-$round.txt | tee -a $O/log.txt
  done
done
# 2. The SIMD ceiling and each step's floor.
npm run bench:peak > $O/peak.txt 2>&1; log "peak done"
gcc -O3 -march=native -o /tmp/tileCeiling bench/native/tileCeiling.c && /tmp/tileCeiling > $O/native-tile.txt 2>&1; log "native tile done"
for n in 1 2; do
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$n OPENBLAS_NUM_THREADS=$n /usr/bin/python3 bench/native/torchMatmul.py $n >> $O/torch-matmul.txt 2>&1
done; log "torch matmul done"
npm run bench:peak -- --threads 1 > $O/peak-again.txt 2>&1; log "peak again done"
for m in dense moe-uniform moe-descending; do
  timeout 600 npm run profile:native -- --model $m --threads 1 > $O/profile-$m-1.txt 2>&1; log "profile $m done rc $?"
done
for s in tiny small; do
  timeout 600 npm run profile:native -- --task lm --scale $s --steps 1 --warmup 1 --threads 1 > $O/profile-lm-$s-1.txt 2>&1; log "profile lm-$s done rc $?"
done
# 3. The peer at 1 and 2 threads, and LM throughput.
timeout 1500 npm run bench -- --peer pytorch --threads 1 --rounds 3 --steps 30 --lm-steps 2 --json $O/peer-threads1.json > $O/peer-threads1.md 2>&1; log "peer1 done rc $?"
timeout 1500 npm run bench -- --peer pytorch --threads 2 --rounds 3 --steps 30 --lm-steps 2 --json $O/peer-threads2.json > $O/peer-threads2.md 2>&1; log "peer2 done rc $?"
timeout 1500 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform,dense --threads 1,2 --engines auto --steps 3 --warmup 1 --json $O/lm.json > $O/lm.txt 2>&1; log "lm done rc $?"
timeout 1200 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform --threads 2 --engines auto --attention --steps 3 --warmup 1 --json $O/lm-attention.json > $O/lm-attention.txt 2>&1; log "lm attention done rc $?"
