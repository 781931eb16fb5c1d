#!/usr/bin/env bash
# End-to-end test of the Win32 example programs (examples/win32), built and run the way a user
# builds a Windows pipe program: install the already-built project into a private prefix, compile
# every example with nothing but
#
#     cc prog.c $(pkg-config --cflags --libs npipe)
#
# (plus a run path to the private libdir), also strictly (-Wall -Wextra -Wpedantic -Werror) as
# C99 and as C11 with UNICODE, then run the 8-bit and the UNICODE builds against a private broker
# (started on demand by the library, in a fresh NPIPE_RUNTIME_DIR) and compare their output
# exactly: the multithreaded server with clients connected at the same time, the client, the
# transaction client, the CallNamedPipe client, and a parent that runs a child through anonymous
# pipes on its standard input and output. Then the small programs of tests/samples/programs, each
# built as C and as C++, ANSI and UNICODE (the build itself checks that every form of _tmain
# compiles and links), and run.
#
#   usage: run_samples_test.sh BUILD_DIR
#
# Nothing is built in BUILD_DIR. Everything the test creates lives in one temporary directory
# that is removed at the end; every process it started, brokers included, is stopped.
# Prints "N passed, M failed"; exits 1 on failure.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lib/e2e.sh
source "$HERE/../lib/e2e.sh" samples "$@"
T=30 # seconds allowed to any single command or wait
# shellcheck source=../lib/processes.sh
source "$HERE/../lib/processes.sh"
# shellcheck source=../lib/samples.sh
source "$HERE/../lib/samples.sh"

PROGRAMS=(pipe_server pipe_client transact_client call_client redirect_parent redirect_child)

echo "build tree: $BUILD"
echo "examples:   $EXAMPLES"
echo "prefix:     $PREFIX"

# ---- install ------------------------------------------------------------------------------------
install_for_users
for h in windows.h tchar.h strsafe.h conio.h; do
    check "include/npipe/compat/$h installed" test -f "$PREFIX/include/npipe/compat/$h"
done
if ! out=$(timeout $T pkg-config --cflags --libs npipe 2>&1); then
    fail "pkg-config --cflags --libs npipe" "$out"
    finish
fi
echo "      pkg-config --cflags --libs npipe: $out"

# ---- the sources use nothing but the Windows headers and stdio ------------------------------------
for p in "${PROGRAMS[@]}"; do includes_only "$EXAMPLES/$p.c" windows tchar strsafe stdio; done

# ---- build --------------------------------------------------------------------------------------
mkdir -p "$WORK/ansi" "$WORK/unicode" "$WORK/strict"
BUILT=1
for p in "${PROGRAMS[@]}"; do
    src=$EXAMPLES/$p.c
    # What a user types (the run path only so the program finds the private library).
    # shellcheck disable=SC2046 # pkg-config's output is meant to split
    if out=$(cd "$WORK/ansi" && timeout 120 cc "${SANFLAGS[@]}" "$src" $(pkg-config --cflags --libs npipe) \
                 -Wl,-rpath,"$LIBDIR" -o "$p" 2>&1) && [[ -z $out ]]; then
        pass "cc $p.c \$(pkg-config --cflags --libs npipe): builds, no diagnostics"
    else
        fail "cc $p.c \$(pkg-config --cflags --libs npipe): builds, no diagnostics" "$out"
        BUILT=0
    fi
    build_strict c ansi "$src" "$WORK/strict/$p" # C99, only built
    build_strict c unicode "$src" "$WORK/unicode/$p" || BUILT=0 # C11, TCHAR = WCHAR
done
[[ $BUILT -eq 1 ]] || finish

# ---- test data ----------------------------------------------------------------------------------
DATA=$WORK/data
mkdir -p "$DATA"
printf 'first line\nsecond line, gr\xc3\xbc\xc3\x9fe\n\nno newline at the end' >"$DATA/small.txt"
: >"$DATA/empty.txt"
head -c 300000 /dev/urandom >"$DATA/big.bin" # well over 64 KiB: more than any pipe buffer
LONG600=$(for _ in $(seq 60); do printf abcdefghij; done)

# ---- run one build ------------------------------------------------------------------------------
run_variant() {
    local v=$1 B=$WORK/$1 W out rc want broker_pid i
    local -a b_pids=()
    private_runtime
    W=$WORK/out-$v
    mkdir -p "$W"
    echo "---- $v build (NPIPE_RUNTIME_DIR=$RUNTIME)"

    # No server yet: the client and CallNamedPipe fail with ERROR_FILE_NOT_FOUND.
    out=$(timeout $T "$B/pipe_client" 2>&1)
    rc=$?
    if [[ $rc -eq 1 && $out == "Client: cannot open $PIPE, GLE=2" ]]; then
        pass "[$v] pipe_client without a server: ERROR_FILE_NOT_FOUND"
    else
        fail "[$v] pipe_client without a server: ERROR_FILE_NOT_FOUND (exit $rc)" "$out"
    fi
    out=$(timeout $T "$B/call_client" 2>&1)
    rc=$?
    if [[ $rc -eq 1 && $out == "Call: CallNamedPipe failed, GLE=2" ]]; then
        pass "[$v] call_client without a server: ERROR_FILE_NOT_FOUND"
    else
        fail "[$v] call_client without a server: ERROR_FILE_NOT_FOUND (exit $rc)" "$out"
    fi

    # The server, for 7 clients: 1 held open + 3 at once + transact + 2 calls.
    start_server "[$v]" "$W/server.out" 90 "$B/pipe_server" 7 || return
    # The broker the library started for the server (stopped at the end, or by the cleanup).
    broker_pid=$(timeout $T "$NPIPE_CLI" broker status --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
    check "[$v] a private broker runs (pid ${broker_pid:-?}) and it is the installed npiped" \
        test -n "$broker_pid" -a "$(exe_of "$broker_pid")" = "$PREFIX/bin/npiped"

    # Client A connects, gets its reply and holds the connection (its stdin stays open).
    hold_client "[$v]" "$W" "$B/pipe_client"

    # While A is connected, three more clients at once: the server must serve them all (some may
    # find every instance busy and go through WaitNamedPipe). A's instance keeps the pipe in
    # existence meanwhile: with no instance at all, even for a moment (the server's main thread not
    # yet back in CreateNamedPipe while the last client's thread closes its instance), waiting
    # clients would fail with ERROR_FILE_NOT_FOUND -- as on Windows.
    for i in 1 2 3; do
        local msg="client $i"
        [[ $i == 3 ]] && msg=$UMSG
        printf '%s' "$msg" >"$W/b$i.msg"
        timeout $T "$B/pipe_client" "$msg" </dev/null >"$W/b$i.out" 2>&1 &
        b_pids+=($!)
        BG_PIDS+=($!)
    done
    for i in 1 2 3; do
        finish_bg "${b_pids[i - 1]}"
        local msg
        msg=$(cat "$W/b$i.msg")
        check "[$v] concurrent client $i exits 0" test "$RC" -eq 0
        expect_file "[$v] concurrent client $i output" "$W/b$i.out" "$(client_says "$v" "$msg")"
    done
    check "[$v] client A is still connected after the others were served (one thread per client)" \
        test -e "/proc/$HELD_PID"
    release_client "[$v]" "$W" "$v"

    # From here on, one client at a time, each once the server's next instance listens.
    # TransactNamedPipe, with a reply of 1546 characters: ERROR_MORE_DATA, then 3 ReadFiles.
    wait_listening "[$v]"
    expect_output "[$v] transact_client (reply read in pieces)" "Transact: reply: $(reply_to "$v" "$LONG1500")" \
        "$B/transact_client" "$LONG1500"

    # CallNamedPipe: a reply that fits, and one that does not (ERROR_MORE_DATA, truncated).
    wait_listening "[$v]"
    expect_output "[$v] call_client" "Call: reply: $(reply_to "$v" "a call")" "$B/call_client" "a call"
    wait_listening "[$v]"
    want=$(reply_to "$v" "$LONG600")
    expect_output "[$v] call_client with a long reply, cut to 512 characters" \
        "Call: reply: ${want:0:512}"$'\n'"Call: the reply was longer than 512 characters; the rest is lost" \
        "$B/call_client" "$LONG600"

    # The server has served its 7 clients and exits by itself.
    finish_bg "$SERVER_PID"
    check "[$v] pipe_server 7 exits 0 after its clients" test "$RC" -eq 0
    {
        for i in $(seq 7); do
            echo "Server: waiting for a client on $PIPE"
            echo "Server: client connected, starting a thread for it"
            echo "Client thread: the client closed the pipe"
            echo "Client thread: done"
        done
        for m in "first client" "client 1" "client 2" "$UMSG" "$LONG1500" "a call" "$LONG600"; do
            echo "Client thread: request \"$m\""
        done
        echo "Server: served 7 clients, exiting"
    } | LC_ALL=C sort >"$W/server.want"
    if d=$(diff "$W/server.want" <(LC_ALL=C sort "$W/server.out")); then
        pass "[$v] server output (lines in any order)"
    else
        fail "[$v] server output (lines in any order)" "$d"
    fi
    check "[$v] the server's last line" test "$(tail -n 1 "$W/server.out")" = "Server: served 7 clients, exiting"
    out=$(timeout $T "$NPIPE_CLI" list 2>&1)
    check "[$v] no pipe left after the server exited" test "$out" = "(no pipes)"

    # Parent and child over anonymous pipes; run from another directory, so the child is found
    # beside the parent.
    mkdir -p "$W/elsewhere"
    for f in small.txt empty.txt big.bin; do
        local size
        size=$(stat -c %s "$DATA/$f")
        (cd "$W/elsewhere" && timeout $T "$B/redirect_parent" "$DATA/$f" >"$W/$f.out" 2>"$W/$f.err")
        rc=$?
        check "[$v] redirect_parent $f exits 0" test $rc -eq 0
        check "[$v] redirect_parent $f: the child's output is the file ($size bytes)" cmp "$DATA/$f" "$W/$f.out"
        sed -i 's/process id [0-9][0-9]*$/process id PID/' "$W/$f.err"
        expect_file "[$v] redirect_parent $f: report" "$W/$f.err" \
            "Parent: started
Parent: started redirect_child, process id PID
Parent: sent $size bytes to the child, received $size bytes from it
Parent: the child exited with code 0"
    done
    (cd "$W/elsewhere" && timeout $T "$B/redirect_parent" "$W/no-such-file" >"$W/nofile.out" 2>"$W/nofile.err")
    rc=$?
    check "[$v] redirect_parent with a missing file exits 1 (ErrorExit)" test $rc -eq 1
    expect_file "[$v] redirect_parent with a missing file: FormatMessage's text" "$W/nofile.err" \
        "Parent: started
Parent: CreateFile failed with error 2: The system cannot find the file specified."

    # The child on its own, on a regular file: ReadFile returns 0 bytes at the end.
    timeout $T "$B/redirect_child" <"$DATA/big.bin" >"$W/child.out" 2>&1
    rc=$?
    check "[$v] redirect_child < file exits 0" test $rc -eq 0
    check "[$v] redirect_child < file > out copies the file" cmp "$DATA/big.bin" "$W/child.out"

    # Stop the broker the library started.
    stop_private_broker "[$v]" "$broker_pid"
}

# ---- _tmain forms and the functions around pipe code: C and C++, ANSI and UNICODE ---------------
FORMS=$HERE/programs
run_forms() {
    local p lang v exe out err rc want units
    mkdir -p "$WORK/forms"
    for p in tmain_void tmain_args; do includes_only "$FORMS/$p.c" windows tchar strsafe conio stdio; done
    for lang in c c++; do
        for v in ansi unicode; do
            # int _tmain(VOID): a key on stdin, a message box on stderr.
            exe=$WORK/forms/tmain_void-$lang-$v
            if build_strict "$lang" "$v" "$FORMS/tmain_void.c" "$exe"; then
                out=$(printf 'q' | timeout $T "$exe" 2>"$WORK/forms/err")
                rc=$?
                err=$(cat "$WORK/forms/err")
                want="tmain_void: I am tmain_void-$lang-$v
tmain_void: counter frequency 10000000 Hz
tmain_void: from GlobalAlloc, 16 characters
tmain_void: press a key> 
tmain_void: key 113"
                if [[ $rc -eq 0 && $out == "$want" && $err == "tmain_void: done" ]]; then
                    pass "[$lang $v] _tmain(VOID) runs"
                else
                    fail "[$lang $v] _tmain(VOID) runs (exit $rc)" "stdout:"$'\n'"$out"$'\n'"stderr:"$'\n'"$err"
                fi
            fi
            # int _tmain(int argc, TCHAR *argv[]): the arguments, as UTF-16 under UNICODE.
            exe=$WORK/forms/tmain_args-$lang-$v
            if build_strict "$lang" "$v" "$FORMS/tmain_args.c" "$exe"; then
                out=$(timeout $T "$exe" one "$UMSG" </dev/null 2>&1)
                rc=$?
                units=$(length "$v" "$UMSG")
                want="tmain_args: argument 1: \"one\" (3 characters)
tmain_args: argument 2: \"$UMSG\" ($units characters)

<End of message, press ENTER to terminate connection and exit>
tmain_args: 2 arguments"
                if [[ $rc -eq 2 && $out == "$want" ]]; then
                    pass "[$lang $v] _tmain(int argc, TCHAR *argv[]) runs"
                else
                    fail "[$lang $v] _tmain(int argc, TCHAR *argv[]) runs (exit $rc)" "$out"
                fi
            fi
        done
    done
}

run_variant ansi
run_variant unicode
run_forms
finish
