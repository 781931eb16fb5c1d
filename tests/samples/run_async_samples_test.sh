#!/usr/bin/env bash
# End-to-end test of the asynchronous Win32 example servers (examples/win32): the overlapped
# server (one thread, WaitForMultipleObjects), the completion-routine server (ReadFileEx /
# WriteFileEx in alertable waits) and the completion-port server (a pool of threads). Each is
# built the way a user builds it, with nothing but
#
#     cc prog.c $(pkg-config --cflags --libs npipe)
#
# as C99, as C11 with UNICODE, and as C++ (ANSI and UNICODE), strictly (-Wall -Wextra -Wpedantic
# -Werror), against the project installed into a private prefix; then every build serves the
# example clients of the same form against a private broker: one client that holds its
# connection, three more at once, a burst of BURST clients at once (more than the servers'
# instances: some wait in WaitNamedPipe), a transaction with a reply longer than the client's
# buffer and two CallNamedPipe calls. Every reply is compared byte for byte, and so is the
# server's log (in any order: the servers serve clients at the same time).
#
#   usage: run_async_samples_test.sh BUILD_DIR
#
# Nothing is built in BUILD_DIR. Everything the test creates lives in one temporary directory
# that is removed at the end; every process it started, brokers included, is stopped.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lib/e2e.sh
source "$HERE/../lib/e2e.sh" async-samples "$@"
EXAMPLES=$(cd "$HERE/../../examples/win32" && pwd -P)
T=30 # seconds allowed to any single command or wait

SERVERS=(overlapped_server routine_server iocp_server)
CLIENTS=(pipe_client transact_client call_client)
FORMS=("c ansi" "c unicode" "c++ ansi" "c++ unicode")
BURST=12

BG_PIDS=()

expect_file() {
    local desc=$1 file=$2 want=$3 d
    if d=$(diff <(printf '%s\n' "$want") "$file" 2>&1); then pass "$desc"
    else fail "$desc" "--- expected / +++ got:"$'\n'"$d"; fi
}
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
}
finish_bg() { wait "$1"; RC=$?; }
running() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
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
cleanup() {
    local pid left
    for pid in "${BG_PIDS[@]}"; do [[ -e /proc/$pid ]] && kill -TERM "$pid" 2>/dev/null; done
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

install_args=()
if [[ $(cache_value NPIPE_SYSTEMD_UNITDIR) == /* ]] &&
    grep -qiE '^(1|on|yes|true|y)$' <<<"$(cache_value NPIPE_INSTALL_SYSTEMD_UNITS)"; then
    install_args=(--component Unspecified) # never install units into the real system
fi
install_prefix "${install_args[@]}"
NPIPE_CLI=$PREFIX/bin/npipe
case $(cache_value NPIPE_SANITIZE) in
    address) SANFLAGS=("-fsanitize=address,undefined") ;;
    thread) SANFLAGS=(-fsanitize=thread) ;;
    *) SANFLAGS=() ;;
esac
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig

# ---- the sources use nothing but the Windows headers (and stdio) ---------------------------------
for p in "${SERVERS[@]}"; do
    bad=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$EXAMPLES/$p.c" |
          grep -vE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(windows|tchar|strsafe|conio|stdio)\.h>' || true)
    if [[ -z $bad ]]; then pass "$p.c includes only Windows headers and <stdio.h>"
    else fail "$p.c includes only Windows headers and <stdio.h>" "$bad"; fi
done

# ---- build: every server and client in every form -------------------------------------------------
# build LANG VARIANT PROGRAM: into $WORK/LANG-VARIANT/PROGRAM.
build() {
    local lang=$1 v=$2 p=$3 out compiler=cc std=-std=c99 dir=$WORK/$1-$2
    local -a defs=()
    [[ $v == unicode ]] && defs=(-DUNICODE -D_UNICODE) && std=-std=c11 # u"..." literals
    [[ $lang == c++ ]] && compiler=c++ && std=-std=c++17
    mkdir -p "$dir"
    # shellcheck disable=SC2046 # pkg-config's output is meant to split
    if out=$(timeout 120 "$compiler" "$std" "${defs[@]}" -Wall -Wextra -Wpedantic -Werror "${SANFLAGS[@]}" \
                 -x "$lang" "$EXAMPLES/$p.c" -x none $(pkg-config --cflags --libs npipe) \
                 -Wl,-rpath,"$LIBDIR" -o "$dir/$p" 2>&1); then
        pass "$p.c builds as $lang ($v) with no warning"
    else
        fail "$p.c builds as $lang ($v) with no warning" "$out"
        return 1
    fi
}
BUILT=1
for form in "${FORMS[@]}"; do
    read -r lang v <<<"$form"
    for p in "${SERVERS[@]}"; do build "$lang" "$v" "$p" || BUILT=0; done
    # The clients (C, tested as C++ by run_samples_test.sh) once per character width.
    if [[ $lang == c ]]; then for p in "${CLIENTS[@]}"; do build "$lang" "$v" "$p" || BUILT=0; done; fi
done
[[ $BUILT -eq 1 ]] || finish

LONG1500=$(for _ in $(seq 150); do printf 0123456789; done)
UMSG=$'gr\xc3\xbc\xc3\x9fe, \xe4\xb8\x96\xe7\x95\x8c' # "grüße, 世界"
PIPE='\\.\pipe\samplepipe'
length() {
    if [[ $1 == ansi ]]; then printf '%s' "$2" | wc -c
    else python3 -c 'import sys; print(len(sys.argv[1].encode("utf-16-le")) // 2)' "$2"; fi
}
reply_to() { printf 'Server reply: you sent "%s" (%d characters)' "$2" "$(length "$1" "$2")"; }
client_says() { # the whole output of pipe_client MESSAGE for VARIANT
    printf 'Client: sending "%s"\nClient: reply: %s\nClient: press ENTER to close the connection\nClient: closed' \
        "$2" "$(reply_to "$1" "$2")"
}

# The server's first line(s), by program; then what every served client adds.
server_log_want() {
    local p=$1 n=$2 i
    shift 2
    case $p in
        overlapped_server) echo "Server: 4 instances of $PIPE wait for clients" ;;
        iocp_server) echo "Server: $PIPE has 4 instances and a completion port" ;;
        routine_server) for i in $(seq "$n"); do echo "Server: waiting for a client on $PIPE"; done ;;
    esac
    for i in $(seq "$n"); do
        echo "Server: a client connected"
        echo "Server: the client closed the pipe"
    done
    for m in "$@"; do echo "Server: request \"$m\""; done
    echo "Server: served $n clients, exiting"
}

# run_server LANG VARIANT PROGRAM: the whole scenario against one build of one server.
run_server() {
    local lang=$1 v=$2 p=$3 S=$WORK/$1-$2 B=$WORK/c-$2 tag="[$1 $2 $3]" rt W out rc a_pid server_pid i
    local -a pids=() sent=()
    local n=$((1 + 3 + BURST + 1 + 2))
    rt=$(mktemp -d "$WORK/rt.XXXXXX")
    W=$(mktemp -d "$WORK/out.XXXXXX")
    export NPIPE_RUNTIME_DIR=$rt

    timeout 120 "$S/$p" "$n" >"$W/server.out" 2>&1 &
    server_pid=$!
    BG_PIDS+=("$server_pid")
    if ! wait_until "$tag the server's pipe appears" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000; then
        fail "$tag server output" "$(cat "$W/server.out")"
        kill -KILL "$server_pid" 2>/dev/null
        return
    fi

    # A holds its connection while the others are served.
    mkfifo "$W/hold"
    exec 3<>"$W/hold"
    timeout 60 "$B/pipe_client" "first client" <"$W/hold" >"$W/a.out" 2>&1 &
    a_pid=$!
    BG_PIDS+=("$a_pid")
    sent+=("first client")
    wait_until "$tag client A gets its reply" grep -q 'press ENTER' "$W/a.out"

    # Three at once, then a burst of more clients than instances.
    for i in $(seq $((3 + BURST))); do
        local msg="client $i"
        [[ $i == 3 ]] && msg=$UMSG
        sent+=("$msg")
        printf '%s' "$msg" >"$W/b$i.msg"
        timeout $T "$B/pipe_client" "$msg" </dev/null >"$W/b$i.out" 2>&1 &
        pids+=($!)
        BG_PIDS+=($!)
        ((i == 3)) && for j in 1 2 3; do finish_bg "${pids[j - 1]}"; echo "$RC" >"$W/b$j.rc"; done
    done
    for i in $(seq 4 $((3 + BURST))); do finish_bg "${pids[i - 1]}"; echo "$RC" >"$W/b$i.rc"; done
    local bad=""
    for i in $(seq $((3 + BURST))); do
        if [[ $(cat "$W/b$i.rc") != 0 ]] ||
            ! diff -q <(client_says "$v" "$(cat "$W/b$i.msg")"; echo) "$W/b$i.out" >/dev/null; then
            bad+="client $i (exit $(cat "$W/b$i.rc")):"$'\n'"$(cat "$W/b$i.out")"$'\n'
        fi
    done
    if [[ -z $bad ]]; then pass "$tag $((3 + BURST)) clients at once get their replies, byte for byte"
    else fail "$tag $((3 + BURST)) clients at once get their replies, byte for byte" "$bad"; fi
    check "$tag client A is still connected meanwhile" running "$a_pid"
    echo >&3
    exec 3>&-
    finish_bg "$a_pid"
    check "$tag client A exits 0" test "$RC" -eq 0
    expect_file "$tag client A output" "$W/a.out" "$(client_says "$v" "first client")"

    # A transaction whose reply is read in pieces, and two CallNamedPipe calls.
    wait_until "$tag an instance listens" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000
    out=$(timeout $T "$B/transact_client" "$LONG1500" 2>&1)
    rc=$?
    sent+=("$LONG1500")
    check "$tag transact_client exits 0" test $rc -eq 0
    expect_file "$tag transact_client output" <(printf '%s\n' "$out") "Transact: reply: $(reply_to "$v" "$LONG1500")"
    for m in "a call" "another call"; do
        wait_until "$tag an instance listens" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000
        out=$(timeout $T "$B/call_client" "$m" 2>&1)
        rc=$?
        sent+=("$m")
        check "$tag call_client \"$m\" exits 0" test $rc -eq 0
        expect_file "$tag call_client \"$m\" output" <(printf '%s\n' "$out") "Call: reply: $(reply_to "$v" "$m")"
    done

    finish_bg "$server_pid"
    check "$tag $p $n exits 0 after its clients" test "$RC" -eq 0
    if d=$(diff <(server_log_want "$p" "$n" "${sent[@]}" | LC_ALL=C sort) <(LC_ALL=C sort "$W/server.out")); then
        pass "$tag server log (lines in any order)"
    else
        fail "$tag server log (lines in any order)" "$d"
    fi
    check "$tag the server's last line" test "$(tail -n 1 "$W/server.out")" = "Server: served $n clients, exiting"
    check "$tag npipe broker stop" timeout $T "$NPIPE_CLI" broker stop
    unset NPIPE_RUNTIME_DIR
}

for form in "${FORMS[@]}"; do
    read -r lang v <<<"$form"
    for p in "${SERVERS[@]}"; do run_server "$lang" "$v" "$p"; done
done
finish
