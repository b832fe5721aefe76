#!/bin/bash
# The step before and after the unrolled Threefry (host draws), then the PyTorch peer for the image
# models, the background training paused by SIGSTOP for the whole script. /work/code-old holds the
# build before the change (git archive of d4f15c3), /work/main the change.
O=/work/quiet3; mkdir -p $O
P=$(pgrep -f "dist/cli/bin.js train"); kill -STOP $P
trap 'kill -CONT $P' EXIT
sleep 20
echo "start $(date -u +%T) load $(cat /proc/loadavg)"
for round in 1 2; do
  (cd /work/code-old && timeout 600 node --import tsx bench/speed/imageSteps.ts --models dense,moe-uniform,moe-switch --dispatch native --threads 1,2 --steps 40 > $O/before-$round.txt 2>&1)
  (cd /work/main && timeout 600 node --import tsx bench/speed/imageSteps.ts --models dense,moe-uniform,moe-switch --dispatch native --threads 1,2 --steps 40 --json $O/after-$round.json > $O/after-$round.txt 2>&1)
  echo "round $round done $(date -u +%T) load $(cat /proc/loadavg)"
done
cd /work/main
timeout 900 npm run bench -- --peer pytorch --threads 1 --rounds 3 --steps 30 --models dense,moe-uniform,moe-descending,moe-switch --json $O/peer-threads1.json > $O/peer-threads1.md 2>&1
echo "peer1 done $(date -u +%T) rc $? load $(cat /proc/loadavg)"
timeout 900 npm run bench -- --peer pytorch --threads 2 --rounds 3 --steps 30 --models dense,moe-uniform,moe-descending,moe-switch --json $O/peer-threads2.json > $O/peer-threads2.md 2>&1
echo "peer2 done $(date -u +%T) rc $? load $(cat /proc/loadavg)"
