# tests/lib/e2e.sh - what the end-to-end shell tests (tests/install, tests/samples) share:
# argument and environment handling, a private work directory, PASS/FAIL bookkeeping, and
# installing an already-built build tree into a private prefix.
#
#   source e2e.sh NAME "$@"     (NAME names the work directory: /tmp/npipe-NAME.XXXXXX)
#
# Sets BUILD (the build tree), WORK (removed at exit by the caller's cleanup), PREFIX.
# Provides pass, fail, check, expect_file, finish, cache_value, exe_of, install_prefix.
# shellcheck shell=bash

set -u
set -o pipefail

e2e_name=$1
shift
if [[ $# -ne 1 || ! -d $1 ]]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd -P)

# Nothing from the caller's environment may steer the test: no npipe variable (the library must
# find the broker by itself), no library path (programs must load the installed library), no
# DESTDIR (it would redirect the install), no foreign CMake/pkg-config search paths.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^NPIPE_' || true)
unset LD_LIBRARY_PATH LD_PRELOAD DESTDIR CMAKE_PREFIX_PATH PKG_CONFIG_PATH

# A short path: a broker's socket lives below it (sun_path holds 108 bytes).
WORK=$(mktemp -d "/tmp/npipe-$e2e_name.XXXXXX") || exit 1
chmod 0700 "$WORK"
WORK=$(cd "$WORK" && pwd -P)
PREFIX=$WORK/prefix

PASSED=0
FAILED=0

pass() {
    PASSED=$((PASSED + 1))
    echo "PASS: $1"
}
# fail DESCRIPTION [DETAILS]: the details are shown indented (at most 60 lines).
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL: $1"
    # shellcheck disable=SC2001
    if [[ -n ${2:-} ]]; then sed 's/^/      /' <<<"$2" | head -n 60; fi
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds; shows its output when it fails.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$out"; fi
}
# expect_file DESC FILE EXPECTED: FILE holds exactly EXPECTED (plus a final newline).
expect_file() {
    local desc=$1 file=$2 want=$3 d
    if d=$(diff <(printf '%s\n' "$want") "$file" 2>&1); then
        pass "$desc"
    else
        fail "$desc" "--- expected / +++ got:"$'\n'"$d"
    fi
}
finish() {
    echo "$PASSED passed, $FAILED failed"
    [[ $FAILED -eq 0 ]]
    exit $?
}

# The value of a variable in the build's CMake cache.
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt" 2>/dev/null; }
# The real path of a process's executable, or nothing when it has gone.
exe_of() { readlink "/proc/$1/exe" 2>/dev/null; }

# install_prefix [cmake --install arguments...]: installs BUILD into PREFIX (nothing is built)
# and sets LIBDIR (lib, lib/<multiarch> or lib64); ends the test when either fails.
install_prefix() {
    local out d
    if out=$(timeout 120 cmake --install "$BUILD" --prefix "$PREFIX" "$@" 2>&1); then
        pass "cmake --install into a private prefix"
    else
        fail "cmake --install into a private prefix (is the project built?)" "$out"
        finish
    fi
    LIBDIR=
    for d in "$PREFIX/lib" "$PREFIX"/lib/*-linux-gnu* "$PREFIX/lib64"; do
        if [[ -e $d/libnpipe.so || -L $d/libnpipe.so ]]; then LIBDIR=$d; break; fi
    done
    if [[ -z $LIBDIR ]]; then
        fail "libnpipe.so installed below $PREFIX" "$(cd "$PREFIX" && find . | sort)"
        finish
    fi
    echo "libdir:     $LIBDIR"
}
