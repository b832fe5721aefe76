#!/bin/bash
# Quiet-machine tables for issue 20 on 2026-12-07 (nothing else running), code of the commit named in log.txt.
cd /work/main
O=bench/results/2026-12-07/quiet
mkdir -p $O
echo "start $(date -u +%T) commit $(git rev-parse --short HEAD) load $(cat /proc/loadavg)" | tee -a $O/log.txt
timeout 1500 npm run bench -- --peer pytorch --threads 1 --rounds 3 --steps 30 --lm-steps 2 --json $O/peer-threads1.json > $O/peer-threads1.md 2>&1
echo "peer1 done $(date -u +%T) rc $? load $(cat /proc/loadavg)" | tee -a $O/log.txt
timeout 1500 npm run bench -- --peer pytorch --threads 2 --rounds 3 --steps 30 --lm-steps 2 --json $O/peer-threads2.json > $O/peer-threads2.md 2>&1
echo "peer2 done $(date -u +%T) rc $? load $(cat /proc/loadavg)" | tee -a $O/log.txt
timeout 1500 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform,dense --threads 1,2 --engines auto --steps 3 --warmup 1 --json $O/lm.json > $O/lm.txt 2>&1
echo "lm done $(date -u +%T) rc $? load $(cat /proc/loadavg)" | tee -a $O/log.txt
timeout 1200 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform --threads 2 --engines auto --attention --steps 3 --warmup 1 --json $O/lm-attention.json > $O/lm-attention.txt 2>&1
echo "lm attention done $(date -u +%T) rc $? load $(cat /proc/loadavg)" | tee -a $O/log.txt
