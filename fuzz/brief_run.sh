#!/bin/sh
# brief_run.sh FUZZER WORKDIR RUNS SEEDS REGRESSIONS - the short run `./dev test` does (ctest
# entry fuzz_NAME):
#  1. every reproducer in REGRESSIONS (regressions/NAME), executed as it is;
#  2. RUNS executions with a fixed seed from SEEDS (corpus/NAME) and an empty working corpus, so
#     two runs of the same build execute the same inputs. -use_cmp=0: the operands of comparisons
#     include heap addresses, which ASLR changes from run to run; guided by them the runs would
#     diverge. -max_len=4096 (libFuzzer's default): larger seeds are cut there, which keeps this
#     run a few seconds long; `./dev fuzz` uses them whole.
# SEEDS and REGRESSIONS are only read; new inputs go to WORKDIR, crash files to WORKDIR.artifacts/.
set -eu
fuzzer=$1 work=$2 runs=$3 seeds=$4 regressions=$5
rm -rf "$work" "$work.artifacts"
mkdir -p "$work" "$work.artifacts"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    echo "== replaying $regressions"
    "$fuzzer" -timeout=10 -artifact_prefix="$work.artifacts/" "$regressions"/*
fi
echo "== fuzzing from $seeds"
exec "$fuzzer" -seed=1 -runs="$runs" -use_cmp=0 -max_len=4096 -max_total_time=60 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$work.artifacts/" "$work" "$seeds"
