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
T=30 # seconds allowed to any single command or wait
# shellcheck source=../lib/processes.sh
source "$HERE/../lib/processes.sh"
# shellcheck source=../lib/samples.sh
source "$HERE/../lib/samples.sh"

SERVERS=(overlapped_server routine_server iocp_server)
CLIENTS=(pipe_client transact_client call_client)
FORMS=("c ansi" "c unicode" "c++ ansi" "c++ unicode")
BURST=12

install_for_users

# ---- the sources use nothing but the Windows headers (and stdio) ---------------------------------
for p in "${SERVERS[@]}"; do includes_only "$EXAMPLES/$p.c" windows tchar strsafe conio stdio; done

# ---- build: every server and client in every form, into $WORK/LANG-VARIANT/PROGRAM ---------------
BUILT=1
for form in "${FORMS[@]}"; do
    read -r lang v <<<"$form"
    mkdir -p "$WORK/$lang-$v"
    for p in "${SERVERS[@]}"; do build_strict "$lang" "$v" "$EXAMPLES/$p.c" "$WORK/$lang-$v/$p" || BUILT=0; done
    # The clients (C, tested as C++ by run_samples_test.sh) once per character width.
    if [[ $lang == c ]]; then
        for p in "${CLIENTS[@]}"; do build_strict "$lang" "$v" "$EXAMPLES/$p.c" "$WORK/$lang-$v/$p" || BUILT=0; done
    fi
done
[[ $BUILT -eq 1 ]] || finish

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
    local lang=$1 v=$2 p=$3 S=$WORK/$1-$2 B=$WORK/c-$2 tag="[$1 $2 $3]" W i
    local -a pids=() sent=()
    local n=$((1 + 3 + BURST + 1 + 2))
    private_runtime
    W=$(mktemp -d "$WORK/out.XXXXXX")

    start_server "$tag" "$W/server.out" 120 "$S/$p" "$n" || return

    # A holds its connection while the others are served.
    hold_client "$tag" "$W" "$B/pipe_client"
    sent+=("first client")

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
    check "$tag client A is still connected meanwhile" running "$HELD_PID"
    release_client "$tag" "$W" "$v"

    # A transaction whose reply is read in pieces, and two CallNamedPipe calls.
    wait_listening "$tag"
    expect_output "$tag transact_client" "Transact: reply: $(reply_to "$v" "$LONG1500")" "$B/transact_client" "$LONG1500"
    sent+=("$LONG1500")
    for m in "a call" "another call"; do
        wait_listening "$tag"
        expect_output "$tag call_client \"$m\"" "Call: reply: $(reply_to "$v" "$m")" "$B/call_client" "$m"
        sent+=("$m")
    done

    finish_bg "$SERVER_PID"
    check "$tag $p $n exits 0 after its clients" test "$RC" -eq 0
    if d=$(diff <(server_log_want "$p" "$n" "${sent[@]}" | LC_ALL=C sort) <(LC_ALL=C sort "$W/server.out")); then
        pass "$tag server log (lines in any order)"
    else
        fail "$tag server log (lines in any order)" "$d"
    fi
    check "$tag the server's last line" test "$(tail -n 1 "$W/server.out")" = "Server: served $n clients, exiting"
    stop_private_broker "$tag"
}

for form in "${FORMS[@]}"; do
    read -r lang v <<<"$form"
    for p in "${SERVERS[@]}"; do run_server "$lang" "$v" "$p"; done
done
finish
