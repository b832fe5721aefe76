#!/bin/bash
# LM training throughput again (issue 20), the background training paused by SIGSTOP for the whole script.
cd /work/main
O=/work/quiet2
P=$(pgrep -f "dist/cli/bin.js train"); kill -STOP $P
trap 'kill -CONT $P' EXIT
sleep 20
echo "start $(date -u +%T) load $(cat /proc/loadavg)"
timeout 1500 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform,dense --threads 1,2 --engines auto --steps 3 --warmup 1 --json $O/lm-quiet.json > $O/lm-quiet.txt 2>&1
echo "lm done $(date -u +%T) rc $? load $(cat /proc/loadavg)"
timeout 1200 npm run bench:lm -- --scales tiny,small,medium --models moe-uniform --threads 2 --engines auto --attention --steps 3 --warmup 1 --json $O/lm-quiet-attention.json > $O/lm-quiet-attention.txt 2>&1
echo "lm attention done $(date -u +%T) rc $? load $(cat /proc/loadavg)"
# then, training stopped again: npm run bench:peak -- --threads 1,2 --json (quiet-lm-2-peak.*)
