#!/usr/bin/env bash
# A private single-node SLURM cluster for tests: munged + slurmctld + slurmd with their own key,
# socket, config, ports and state under one directory, so nothing in /etc is touched and a system
# SLURM (if any) is left alone. Needs root (slurmd runs jobs as their submitting user).
#
#   scripts/slurm/test-cluster.sh start    install slurm-wlm + munge if missing (apt), start, wait idle
#   scripts/slurm/test-cluster.sh env      print the `export ...` lines clients need (SLURM_CONF)
#   scripts/slurm/test-cluster.sh status   sinfo of the private cluster
#   scripts/slurm/test-cluster.sh stop     stop the three daemons (by their pid files) and clean up
#
# Settings (environment): DIFFLUT_SLURM_DIR (state directory, default /tmp/difflut-slurm),
# DIFFLUT_SLURM_PORT (slurmctld port, default 16817; slurmd uses the next one),
# DIFFLUT_SLURM_NO_INSTALL=1 (never call apt-get). Exit status of start: 0 up, 3 cannot start
# (message on stderr says why: not root, packages missing, a daemon failed; the logs are in the
# state directory).
set -uo pipefail

dir="${DIFFLUT_SLURM_DIR:-/tmp/difflut-slurm}"
port="${DIFFLUT_SLURM_PORT:-16817}"
conf="$dir/slurm.conf"
node="$(hostname -s 2>/dev/null || hostname)"

die() { echo "test-cluster: $*" >&2; exit 3; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  local need=()
  command -v munged >/dev/null 2>&1 || need+=(munge)
  { command -v slurmctld && command -v slurmd && command -v sbatch; } >/dev/null 2>&1 ||
    need+=(slurm-wlm)
  [ ${#need[@]} -eq 0 ] && return 0
  [ "${DIFFLUT_SLURM_NO_INSTALL:-0}" = 1 ] && die "missing ${need[*]} and DIFFLUT_SLURM_NO_INSTALL=1"
  command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]} and no apt-get to install them"
  echo "test-cluster: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts try to start the services; a policy-rc.d that says no keeps them down (we
  # start our own daemons) and is removed again if we created it.
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  { apt-get install -y -qq --no-install-recommends "${need[@]}" ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; }; } \
    > "$dir/apt.log" 2>&1
  local rc=$?
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || die "apt-get install ${need[*]} failed (see $dir/apt.log)"
}

write_config() {
  local cpus mem_mb
  # At least 8 CPUs are advertised (config_overrides below: slurmd trusts this file, not the
  # hardware), so short test tasks run side by side even on a 2-core machine.
  cpus="$(nproc)"
  [ "$cpus" -ge 8 ] || cpus=8
  mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
  cat > "$conf" <<CONF
# Written by scripts/slurm/test-cluster.sh: a one-node test cluster.
ClusterName=difflut-test
# Loopback addresses: the test needs no working DNS or /etc/hosts entry for this host.
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: containers and CI machines often lack a usable cgroup hierarchy.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
LaunchParameters=use_interactive_step
# Several jobs share the node, one core each unless they ask for more.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MaxArraySize=10001
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  local key="$dir/munge/munge.key"
  if [ ! -s "$key" ]; then
    (umask 077 && head -c 1024 /dev/urandom > "$key") || die "cannot write $key"
  fi
  chmod 700 "$dir/munge" && chmod 400 "$key"
  pid_alive "$dir/munge/munged.pid" && return 0
  # --force: the socket directory sits under /tmp (world-writable, sticky), which munged only
  # accepts when forced.
  munged --force --socket="$dir/munge/munge.socket" --key-file="$key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" >> "$dir/log/munged.out" 2>&1 ||
    die "munged failed to start (see $dir/log/munged.log)"
  for _ in $(seq 50); do [ -S "$dir/munge/munge.socket" ] && return 0; sleep 0.1; done
  die "munged did not create its socket (see $dir/log/munged.log)"
}

wait_idle() {
  local state=""
  for _ in $(seq 120); do
    state="$(SLURM_CONF="$conf" sinfo -h -n "$node" -o %T 2>/dev/null | head -1)"
    case "$state" in
      idle|idle\*|mixed|allocated) [ "$state" = "idle*" ] || return 0 ;;
      down*|drain*) SLURM_CONF="$conf" scontrol update nodename="$node" state=resume >/dev/null 2>&1 ;;
    esac
    sleep 0.5
  done
  die "node $node not idle after 60 s (state '$state'; logs in $dir/log)"
}

cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd runs the jobs as their users)"
  mkdir -p "$dir" || die "cannot create $dir"
  install_packages
  write_config
  start_munge
  if ! pid_alive "$dir/slurmctld.pid"; then
    # -i: ignore state left by an earlier run of the same directory.
    slurmctld -f "$conf" -i >> "$dir/log/slurmctld.out" 2>&1 ||
      die "slurmctld failed to start (see $dir/log/slurmctld.log)"
  fi
  if ! pid_alive "$dir/slurmd.pid"; then
    slurmd -f "$conf" >> "$dir/log/slurmd.out" 2>&1 ||
      die "slurmd failed to start (see $dir/log/slurmd.log and slurmd.out)"
  fi
  wait_idle
  echo "test-cluster: up (node $node, SLURM_CONF=$conf)" >&2
}

stop_pidfile() {
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$f"
}

cmd_stop() {
  if [ -f "$conf" ]; then
    SLURM_CONF="$conf" scancel --quiet --user="$(id -un)" >/dev/null 2>&1 || true
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munge/munged.pid"
  echo "test-cluster: stopped" >&2
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) echo "export SLURM_CONF=$conf" ;;
  status) SLURM_CONF="$conf" sinfo ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
