# tests/lib/samples.sh - what the tests of the Win32 example programs (tests/samples) share: the
# project installed for a user, a program built the way that user builds it, the examples' pipe
# and messages with the replies they get, and a server with its private broker.
#
#   source e2e.sh NAME "$@"; source processes.sh; source samples.sh
#
# Sets EXAMPLES (examples/win32), PIPE, LONG1500, UMSG. After install_for_users: NPIPE_CLI,
# SANFLAGS, LIBDIR and PKG_CONFIG_PATH.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this

EXAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../examples/win32" && pwd -P)

# ---- the project installed, and programs built as a user builds them -----------------------------

# install_for_users: installs the build into PREFIX (as tests/install/run_install_test.sh, never
# installing systemd units into the real system) and makes pkg-config find it there.
install_for_users() {
    local -a args=()
    if [[ $(cache_value NPIPE_SYSTEMD_UNITDIR) == /* ]] &&
        grep -qiE '^(1|on|yes|true|y)$' <<<"$(cache_value NPIPE_INSTALL_SYSTEMD_UNITS)"; then
        args=(--component Unspecified)
    fi
    install_prefix "${args[@]}"
    NPIPE_CLI=$PREFIX/bin/npipe
    # A sanitized library needs sanitized programs.
    case $(cache_value NPIPE_SANITIZE) in
        address) SANFLAGS=("-fsanitize=address,undefined") ;;
        thread) SANFLAGS=(-fsanitize=thread) ;;
        *) SANFLAGS=() ;;
    esac
    export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
}

# includes_only SOURCE HEADER...: SOURCE includes nothing but <HEADER.h> of the list.
includes_only() {
    local src=$1 bad
    shift
    local want="<$1.h>" alternatives=$1 h
    for h in "${@:2}"; do want+=" <$h.h>"; alternatives+="|$h"; done
    bad=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$src" |
          grep -vE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($alternatives)\\.h>" || true)
    if [[ -z $bad ]]; then pass "$(basename "$src") includes only $want"
    else fail "$(basename "$src") includes only $want" "$bad"; fi
}

# build_strict LANG VARIANT SOURCE OUTPUT: builds SOURCE as LANG (c or c++) with VARIANT (ansi or
# unicode) as a user would, strictly: no warning, no error; fails (1) when it does not build.
build_strict() {
    local lang=$1 v=$2 src=$3 exe=$4 out compiler=cc std=-std=c99
    local -a defs=()
    [[ $v == unicode ]] && defs=(-DUNICODE -D_UNICODE) && std=-std=c11 # u"..." literals
    [[ $lang == c++ ]] && compiler=c++ && std=-std=c++17
    # shellcheck disable=SC2046 # pkg-config's output is meant to split
    if out=$(timeout 120 "$compiler" "$std" "${defs[@]}" -Wall -Wextra -Wpedantic -Werror "${SANFLAGS[@]}" \
                 -x "$lang" "$src" -x none $(pkg-config --cflags --libs npipe) \
                 -Wl,-rpath,"$LIBDIR" -o "$exe" 2>&1); then
        pass "$(basename "$src") builds as $lang ($v) with no warning"
    else
        fail "$(basename "$src") builds as $lang ($v) with no warning" "$out"
        return 1
    fi
}

# ---- the examples' pipe, messages and replies ----------------------------------------------------

PIPE='\\.\pipe\samplepipe'
LONG1500=$(for _ in $(seq 150); do printf 0123456789; done)
UMSG=$'gr\xc3\xbc\xc3\x9fe, \xe4\xb8\x96\xe7\x95\x8c' # "grüße, 世界"

# length VARIANT TEXT: the length of TEXT in TCHARs (bytes of UTF-8, or UTF-16 units).
length() {
    if [[ $1 == ansi ]]; then printf '%s' "$2" | wc -c
    else python3 -c 'import sys; print(len(sys.argv[1].encode("utf-16-le")) // 2)' "$2"; fi
}
reply_to() { printf 'Server reply: you sent "%s" (%d characters)' "$2" "$(length "$1" "$2")"; }
# client_says VARIANT MESSAGE: the whole output of pipe_client MESSAGE.
client_says() {
    printf 'Client: sending "%s"\nClient: reply: %s\nClient: press ENTER to close the connection\nClient: closed' \
        "$2" "$(reply_to "$1" "$2")"
}

# expect_output DESC WANT COMMAND...: COMMAND (within $T seconds) exits 0 and prints exactly WANT.
expect_output() {
    local desc=$1 want=$2 out rc
    shift 2
    out=$(timeout "$T" "$@" 2>&1)
    rc=$?
    check "$desc exits 0" test $rc -eq 0
    expect_file "$desc output" <(printf '%s\n' "$out") "$want"
}

# ---- a server, its clients and its private broker ------------------------------------------------

# private_runtime: a fresh NPIPE_RUNTIME_DIR below WORK, so that the library starts a broker of
# its own on demand (the installed npiped; stop_private_broker stops it, else the cleanup does).
private_runtime() {
    RUNTIME=$(mktemp -d "$WORK/rt.XXXXXX")
    export NPIPE_RUNTIME_DIR=$RUNTIME
}

# start_server TAG OUT SECONDS PROGRAM ARGS...: starts the server in the background (output to
# OUT, killed after SECONDS) and waits for its pipe; sets SERVER_PID. Fails (1) when no pipe comes.
start_server() {
    local tag=$1 out=$2 limit=$3
    shift 3
    timeout "$limit" "$@" >"$out" 2>&1 &
    SERVER_PID=$!
    BG_PIDS+=("$SERVER_PID")
    if ! wait_until "$tag the server's pipe appears" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000; then
        fail "$tag server output" "$(cat "$out")"
        kill -KILL "$SERVER_PID" 2>/dev/null
        return 1
    fi
    pass "$tag the server's pipe appears"
}

# wait_listening TAG: the server's next instance listens. Needed before each client that comes
# alone: the previous client's instance may be gone before the next one exists, and with no
# instance at all the client would fail with ERROR_FILE_NOT_FOUND -- as on Windows.
wait_listening() {
    wait_until "$1 an instance listens" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000
}

# hold_client TAG DIR CLIENT: CLIENT (pipe_client) connects with "first client", gets its reply and
# holds the connection (its stdin, DIR/hold on descriptor 3, stays open); sets HELD_PID.
hold_client() {
    local tag=$1 dir=$2
    mkfifo "$dir/hold"
    exec 3<>"$dir/hold"
    timeout 60 "$3" "first client" <"$dir/hold" >"$dir/a.out" 2>&1 &
    HELD_PID=$!
    BG_PIDS+=("$HELD_PID")
    wait_until "$tag client A gets its reply" grep -q 'press ENTER' "$dir/a.out"
}
# release_client TAG DIR VARIANT: the held client closes its connection and exits as it should.
release_client() {
    local tag=$1 dir=$2 v=$3
    echo >&3
    exec 3>&-
    finish_bg "$HELD_PID"
    check "$tag client A exits 0" test "$RC" -eq 0
    expect_file "$tag client A output" "$dir/a.out" "$(client_says "$v" "first client")"
}

# stop_private_broker TAG [PID]: stops the broker of private_runtime (and waits for PID, when
# known, to exit); the library finds the broker again through NPIPE_RUNTIME_DIR, then unset.
stop_private_broker() {
    local tag=$1 pid=${2:-}
    check "$tag npipe broker stop" timeout "$T" "$NPIPE_CLI" broker stop
    if [[ -n $pid ]]; then
        for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
        if running "$pid"; then fail "$tag the broker (pid $pid) has exited"
        else pass "$tag the broker (pid $pid) has exited"; fi
    fi
    unset NPIPE_RUNTIME_DIR
}
