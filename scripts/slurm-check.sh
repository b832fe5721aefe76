#!/bin/sh
# Checks examples/slurm/sweep.sbatch on a real (one-node) Slurm: installs Debian's slurm-wlm and munge
# when missing, starts munged (unless one already answers), slurmctld and slurmd on this machine,
# submits the example as a 2-task job array over a 4-run MNIST sweep, and checks that every run
# finished and that `dynamoe results` merges all 4. Stops the daemons it started and prints PASS.
# Not part of `npm test`: it needs root and takes a minute or two.
#
#   sudo sh scripts/slurm-check.sh
#
# Slurm's configuration, state, logs, the job output and the sweep live under $SLURM_CHECK_DIR
# (default /tmp/dynamoe-slurm-check), wiped at the start of every run, never in the repository. The
# daemons listen on the usual ports 6817/6818. Re-runnable: daemons left by an interrupted run of
# this script are stopped first.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE=${SLURM_CHECK_DIR:-/tmp/dynamoe-slurm-check}
CONF="$STATE/slurm.conf"
HOST=$(hostname -s)
CPUS=$(nproc)
RUNS="router=switch,seed=0 router=switch,seed=1 router=topk,seed=0 router=topk,seed=1"

say() { echo "slurm-check: $*" >&2; }
fail() {
  say "FAIL: $*"
  for f in "$STATE"/log/*.log "$STATE"/jobs/*.out; do
    [ -f "$f" ] && { echo "---- last lines of $f" >&2; tail -n 25 "$f" >&2; }
  done
  exit 1
}

[ "$(id -u)" = 0 ] || { say "run as root (it installs packages and starts slurmctld/slurmd)"; exit 1; }

# --- packages ----------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
  || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  say "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null; } \
    || { say "could not install slurm-wlm and munge (no network?)"; exit 1; }
fi
SLURM_VERSION=$(dpkg-query -W -f '${Version}' slurmctld 2>/dev/null || slurmctld -V | awk '{print $2}')

# --- stop what an interrupted earlier run left --------------------------------------------------
# Only processes this script recorded, and only when their command line is still ours.
stop_pid() { # $1: pid file, $2: text the process's command line must contain
  if ours "$1" "$2"; then
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.5; i=$((i + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}
ours() { # $1: pid file, $2: text the process's command line must contain
  [ -f "$1" ] && pid=$(cat "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}
stop_all() {
  # This cluster is private to the script (its own slurm.conf): cancel whatever jobs it still has,
  # so that no job step outlives slurmd.
  if ours "$STATE/slurmctld.pid" "$CONF"; then
    jobs=$(SLURM_CONF="$CONF" squeue -h -o %A 2>/dev/null | sort -u)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      SLURM_CONF="$CONF" scancel $jobs 2>/dev/null || true
      i=0
      while [ -n "$(SLURM_CONF="$CONF" squeue -h -o %A 2>/dev/null)" ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
    fi
  fi
  stop_pid "$STATE/slurmd.pid" "$CONF"
  stop_pid "$STATE/slurmctld.pid" "$CONF"
  stop_pid "$STATE/munged.pid" munged
}
stop_all
rm -rf "$STATE"
mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/log" "$STATE/jobs" "$STATE/sweep"
trap 'stop_all' EXIT
trap 'exit 130' INT TERM HUP

# --- munge -------------------------------------------------------------------------------------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running: using it"
else
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 755 /run/munge
  runuser -u munge -- munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$STATE/munged.pid"
  i=0
  until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 20 ] || fail "munged does not answer"; sleep 0.5
  done
fi

# --- slurm.conf: one node, this machine ---------------------------------------------------------
MEM_MB=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
REAL_MEM=$((MEM_MB / 2)); [ "$REAL_MEM" -le 2048 ] || REAL_MEM=2048
JOB_MEM=$((REAL_MEM / 2))
cat >"$CONF" <<EOF
# written by scripts/slurm-check.sh
ClusterName=dynamoe-check
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.daemon.pid
SlurmdPidFile=$STATE/slurmd.daemon.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=check Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$CONF"

# --- daemons -----------------------------------------------------------------------------------
say "starting slurmctld and slurmd (Slurm $SLURM_VERSION, node $HOST, $CPUS CPUs; state in $STATE)"
slurmctld -D -f "$CONF" >"$STATE/log/slurmctld.stdout" 2>&1 &
echo $! >"$STATE/slurmctld.pid"
sleep 1
slurmd -D -f "$CONF" >"$STATE/log/slurmd.stdout" 2>&1 &
echo $! >"$STATE/slurmd.pid"
i=0
until [ "$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null)" = idle ]; do
  i=$((i + 1))
  [ $i -lt 60 ] || fail "node $HOST not idle after 60 s (sinfo: $(sinfo -h -N -o '%N %T %E' 2>&1 || true))"
  kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null || fail "slurmctld exited"
  kill -0 "$(cat "$STATE/slurmd.pid")" 2>/dev/null || fail "slurmd exited"
  sleep 1
done
say "node $HOST idle"

# --- the sweep: 2 routers x 2 seeds on a sliver of MNIST -----------------------------------------
SPEC="$STATE/sweep/slurm-check.yaml"
OUT="$STATE/sweep/out"
cat >"$SPEC" <<'EOF'
name: slurm-check
base:
  dataset: mnist
  d: 16
  h: 16
  layers: 2
  experts: [2, 2]
  batchSize: 64
  trainLimit: 512
  testLimit: 200
  evalBatchSize: 200
  maxSteps: 4
  epochs: 1
  logEvery: 2
  checkpointEvery: 2
grid:
  router: [topk, switch]
seeds: [0, 1]
EOF

# Submitted from the repository, as the example says. Command-line options override the #SBATCH
# lines only where this one small node needs it: the memory (the example asks for 8G), the output
# folder (not the repository), and the cores when this machine has fewer than the example's 2.
set -- --array=0-1 --mem="${JOB_MEM}M" --output="$STATE/jobs/slurm-%x-%A_%a.out"
[ "$CPUS" -ge 2 ] || set -- "$@" --cpus-per-task="$CPUS"
say "sbatch $* examples/slurm/sweep.sbatch (SPEC=$SPEC OUT=$OUT)"
cd "$REPO"
rc=0
SPEC="$SPEC" OUT="$OUT" timeout 900 sbatch --parsable --wait "$@" examples/slurm/sweep.sbatch >"$STATE/sbatch.out" 2>"$STATE/sbatch.err" || rc=$?
JOB=$(head -n 1 "$STATE/sbatch.out" | cut -d';' -f1)
[ -n "$JOB" ] || fail "sbatch did not submit: $(cat "$STATE/sbatch.err")"
[ "$rc" = 0 ] || fail "job $JOB: sbatch --wait exited $rc $(cat "$STATE/sbatch.err")"
say "job array $JOB finished"

# --- checks ------------------------------------------------------------------------------------
for shard in 0/2 1/2; do
  grep -qsF -- "--shard $shard" "$STATE"/jobs/slurm-*.out || fail "no array task ran shard $shard"
done
n=0
for d in "$OUT"/*/; do
  [ -d "$d" ] || continue
  n=$((n + 1))
  [ -f "$d/summary.json" ] || fail "run $(basename "$d") has no summary.json"
done
[ "$n" = 4 ] || fail "expected 4 run folders in $OUT, found $n"
for r in $RUNS; do
  [ -f "$OUT/$r/summary.json" ] || fail "run $r missing or unfinished in $OUT"
done

npx --no-install dynamoe results "$OUT" --csv "$STATE/results.csv" >"$STATE/results.txt" 2>&1 \
  || fail "dynamoe results exited non-zero: $(cat "$STATE/results.txt")"
cat "$STATE/results.txt"
grep -q ", 4 runs)" "$STATE/results.txt" || fail "dynamoe results did not list 4 runs"
for r in $RUNS; do
  grep -qF "$r" "$STATE/results.csv" || fail "dynamoe results has no row for run $r"
done

trap - EXIT
stop_all
echo "slurm-check: PASS: examples/slurm/sweep.sbatch as a 2-task job array ran all 4 runs on Slurm $SLURM_VERSION (node $HOST, $CPUS CPUs) and dynamoe results merged them"
