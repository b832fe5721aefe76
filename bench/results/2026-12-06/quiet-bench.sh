#!/bin/bash
# Quiet-machine tables for issue 20 (background training paused by SIGSTOP for the whole script).
cd /work/main
O=/work/quiet
P=$(pgrep -f "dist/cli/bin.js train"); kill -STOP $P
trap 'kill -CONT $P' EXIT
sleep 20
echo "start $(date -u +%T) load $(cat /proc/loadavg)"
timeout 1500 npm run bench -- --peer pytorch --threads 1 --rounds 3 --steps 30 --lm-steps 2 --json $O/peer-threads1.json > $O/peer-threads1.md 2>&1
echo "peer1 done $(date -u +%T) rc $?"
timeout 1500 npm run bench -- --peer pytorch --threads 2 --rounds 3 --steps 30 --lm-steps 2 --json $O/peer-threads2.json > $O/peer-threads2.md 2>&1
echo "peer2 done $(date -u +%T) rc $?"
timeout 1500 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform,dense --threads 1,2 --engines auto --steps 3 --warmup 1 --json $O/lm-quiet.json > $O/lm-quiet.txt 2>&1
echo "lm done $(date -u +%T) rc $?"
timeout 1200 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform --threads 2 --engines auto --attention --steps 3 --warmup 1 --json $O/lm-quiet-attention.json > $O/lm-quiet-attention.txt 2>&1
echo "lm attention done $(date -u +%T) rc $?"
