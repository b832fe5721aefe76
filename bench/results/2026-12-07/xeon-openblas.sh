#!/bin/bash
# Does PyTorch's two-thread step suffer from OpenBLAS's own threads on this machine? On the Intel Xeon
# of 2026-12-07 PyTorch's image steps were slower on two threads than on one (xeon/peer-threads*.md),
# with Debian's pthread OpenBLAS (its threads spin beside torch's OpenMP ones). The same peer bench
# with the OpenMP build of OpenBLAS (libopenblas0-openmp, which shares torch's OpenMP threads), the
# two alternating twice; the pthread build is restored at the end.
cd /work/main
O=bench/results/2026-12-07/xeon
log() { echo "$1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a $O/log.txt; }
DEBIAN_FRONTEND=noninteractive apt-get install -y -q libopenblas0-openmp > /dev/null 2>&1
set_blas() {
  update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-$1/libblas.so.3 > /dev/null
  update-alternatives --set liblapack.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-$1/liblapack.so.3 > /dev/null
}
for round in 1 2; do
  for v in pthread openmp; do
    set_blas $v
    log "openblas $v round $round"
    timeout 900 npm run bench -- --peer pytorch --threads 2 --rounds 3 --steps 30 --lm-steps 2 --models dense,moe-uniform,moe-descending,moe-switch,lm-tiny \
      --json $O/openblas-$v-$round.json > $O/openblas-$v-$round.md 2>&1
    grep -E "^\| (dense|moe|lm)" $O/openblas-$v-$round.md | tee -a $O/log.txt
  done
done
update-alternatives --auto libblas.so.3-x86_64-linux-gnu > /dev/null
update-alternatives --auto liblapack.so.3-x86_64-linux-gnu > /dev/null
log "openblas alternatives back to auto (pthread)"
