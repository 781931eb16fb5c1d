# tests/lib/processes.sh - the programs an end-to-end shell test starts in the background, waiting
# for a condition with a deadline, and stopping everything the test started when it ends.
#
#   source e2e.sh NAME "$@"; source processes.sh
#
# Needs WORK (from e2e.sh) and T (seconds allowed to any single wait; 30 unless set before).
# Provides BG_PIDS, wait_until, finish_bg, running, ours, and installs cleanup as the EXIT trap.
# shellcheck shell=bash

: "${T:=30}"
BG_PIDS=() # background programs started by the test; add every one

# wait_until DESC COMMAND...: polls COMMAND until it succeeds, for at most $T seconds.
wait_until() {
    local desc=$1 deadline=$((SECONDS + T))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            fail "$desc (not within $T s)"
            return 1
        fi
        sleep 0.05
    done
    return 0
}
# finish_bg PID: waits (bounded by the program's own `timeout`) for a background program; sets RC.
# shellcheck disable=SC2034 # RC is for the caller
finish_bg() { wait "$1"; RC=$?; }

# running PID: the process exists and is not a zombie.
running() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# The processes running a program of this test's directory: the programs it built and the
# installed npiped (nothing else has its executable below $WORK).
# shellcheck disable=SC2317 # called by cleanup
ours() {
    local exe pid
    for exe in /proc/[0-9]*/exe; do
        [[ $(readlink "$exe" 2>/dev/null) == "$WORK"/* ]] || continue
        pid=${exe#/proc/}
        echo "${pid%/exe}"
    done
}
# shellcheck disable=SC2317 # called by the EXIT trap
# Stops what the test started: the background programs (through their `timeout`, which passes
# SIGTERM on), then whatever of ours still runs -- brokers included.
cleanup() {
    local pid left
    for pid in "${BG_PIDS[@]}"; do
        [[ -e /proc/$pid ]] && kill -TERM "$pid" 2>/dev/null
    done
    left=$(ours)
    if [[ -n $left ]]; then
        # shellcheck disable=SC2086
        kill -TERM $left 2>/dev/null
        for _ in $(seq 50); do [[ -z $(ours) ]] && break; sleep 0.1; done
        left=$(ours)
        # shellcheck disable=SC2086
        [[ -n $left ]] && kill -KILL $left 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
