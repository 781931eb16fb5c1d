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
EXAMPLES=$(cd "$HERE/../../examples/win32" && pwd -P)
T=30 # seconds allowed to any single command or wait

PROGRAMS=(pipe_server pipe_client transact_client call_client redirect_parent redirect_child)

BG_PIDS=()      # background programs started by the test

# expect_file DESC FILE EXPECTED: FILE holds exactly EXPECTED (plus a final newline).
expect_file() {
    local desc=$1 file=$2 want=$3 d
    if d=$(diff <(printf '%s\n' "$want") "$file" 2>&1); then
        pass "$desc"
    else
        fail "$desc" "--- expected / +++ got:"$'\n'"$d"
    fi
}
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
finish_bg() { wait "$1"; RC=$?; }

# running PID: the process exists and is not a zombie.
running() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# The processes running a program of this test's directory: the examples and the installed npiped
# (nothing else has its executable below $WORK).
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

echo "build tree: $BUILD"
echo "examples:   $EXAMPLES"
echo "prefix:     $PREFIX"

# ---- install (as tests/install/run_install_test.sh) ----------------------------------------------
install_args=()
if [[ $(cache_value NPIPE_SYSTEMD_UNITDIR) == /* ]] &&
    grep -qiE '^(1|on|yes|true|y)$' <<<"$(cache_value NPIPE_INSTALL_SYSTEMD_UNITS)"; then
    install_args=(--component Unspecified) # never install units into the real system
fi
install_prefix "${install_args[@]}"
for h in windows.h tchar.h strsafe.h conio.h; do
    check "include/npipe/compat/$h installed" test -f "$PREFIX/include/npipe/compat/$h"
done
NPIPE_CLI=$PREFIX/bin/npipe

# A sanitized library needs sanitized programs.
case $(cache_value NPIPE_SANITIZE) in
    address) SANFLAGS=("-fsanitize=address,undefined") ;;
    thread) SANFLAGS=(-fsanitize=thread) ;;
    *) SANFLAGS=() ;;
esac

export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
if ! out=$(timeout $T pkg-config --cflags --libs npipe 2>&1); then
    fail "pkg-config --cflags --libs npipe" "$out"
    finish
fi
echo "      pkg-config --cflags --libs npipe: $out"

# ---- the sources use nothing but the Windows headers and stdio ------------------------------------
for p in "${PROGRAMS[@]}"; do
    bad=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$EXAMPLES/$p.c" |
          grep -vE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(windows|tchar|strsafe|stdio)\.h>' || true)
    if [[ -z $bad ]]; then pass "$p.c includes only <windows.h> <tchar.h> <strsafe.h> <stdio.h>"
    else fail "$p.c includes only <windows.h> <tchar.h> <strsafe.h> <stdio.h>" "$bad"; fi
done

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
    # shellcheck disable=SC2046
    check "$p.c: no warning as C99 with -Wall -Wextra -Wpedantic" \
        timeout 120 cc -std=c99 -Wall -Wextra -Wpedantic -Werror "${SANFLAGS[@]}" "$src" \
        $(pkg-config --cflags --libs npipe) -o "$WORK/strict/$p"
    # shellcheck disable=SC2046
    if out=$(timeout 120 cc -std=c11 -DUNICODE -D_UNICODE -Wall -Wextra -Wpedantic -Werror "${SANFLAGS[@]}" \
                 "$src" $(pkg-config --cflags --libs npipe) -Wl,-rpath,"$LIBDIR" -o "$WORK/unicode/$p" 2>&1); then
        pass "$p.c: builds with no warning as C11 with UNICODE (TCHAR = WCHAR)"
    else
        fail "$p.c: builds with no warning as C11 with UNICODE (TCHAR = WCHAR)" "$out"
        BUILT=0
    fi
done
[[ $BUILT -eq 1 ]] || finish

# ---- test data ----------------------------------------------------------------------------------
DATA=$WORK/data
mkdir -p "$DATA"
printf 'first line\nsecond line, gr\xc3\xbc\xc3\x9fe\n\nno newline at the end' >"$DATA/small.txt"
: >"$DATA/empty.txt"
head -c 300000 /dev/urandom >"$DATA/big.bin" # well over 64 KiB: more than any pipe buffer
LONG1500=$(for _ in $(seq 150); do printf 0123456789; done)
LONG600=$(for _ in $(seq 60); do printf abcdefghij; done)
UMSG=$'gr\xc3\xbc\xc3\x9fe, \xe4\xb8\x96\xe7\x95\x8c' # "grüße, 世界"
PIPE='\\.\pipe\samplepipe'

# length VARIANT TEXT: the length of TEXT in TCHARs (bytes of UTF-8, or UTF-16 units).
length() {
    if [[ $1 == ansi ]]; then printf '%s' "$2" | wc -c
    else python3 -c 'import sys; print(len(sys.argv[1].encode("utf-16-le")) // 2)' "$2"; fi
}
reply_to() { printf 'Server reply: you sent "%s" (%d characters)' "$2" "$(length "$1" "$2")"; }

# ---- run one build ------------------------------------------------------------------------------
run_variant() {
    local v=$1 B=$WORK/$1 rt W out rc want broker_pid a_pid i
    local -a b_pids=()
    rt=$(mktemp -d "$WORK/rt.XXXXXX")
    W=$WORK/out-$v
    mkdir -p "$W"
    export NPIPE_RUNTIME_DIR=$rt
    echo "---- $v build (NPIPE_RUNTIME_DIR=$rt)"

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
    timeout 90 "$B/pipe_server" 7 >"$W/server.out" 2>&1 &
    local server_pid=$!
    BG_PIDS+=("$server_pid")
    if ! wait_until "[$v] the server's pipe appears (npipe wait)" \
            timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000; then
        fail "[$v] server output" "$(cat "$W/server.out")"
        kill -KILL "$server_pid" 2>/dev/null
        return
    fi
    pass "[$v] the server's pipe appears"
    # The broker the library started for the server (stopped at the end, or by the cleanup).
    broker_pid=$(timeout $T "$NPIPE_CLI" broker status --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
    check "[$v] a private broker runs (pid ${broker_pid:-?}) and it is the installed npiped" \
        test -n "$broker_pid" -a "$(exe_of "$broker_pid")" = "$PREFIX/bin/npiped"

    # Client A connects, gets its reply and holds the connection (its stdin stays open).
    mkfifo "$W/hold"
    exec 3<>"$W/hold"
    timeout 60 "$B/pipe_client" "first client" <"$W/hold" >"$W/a.out" 2>&1 &
    a_pid=$!
    BG_PIDS+=("$a_pid")
    wait_until "[$v] client A gets its reply" grep -q 'press ENTER' "$W/a.out"

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
        expect_file "[$v] concurrent client $i output" "$W/b$i.out" \
            "Client: sending \"$msg\""$'\n'"Client: reply: $(reply_to "$v" "$msg")"$'\n'"Client: press ENTER to close the connection"$'\n'"Client: closed"
    done
    check "[$v] client A is still connected after the others were served (one thread per client)" \
        test -e "/proc/$a_pid"

    echo >&3
    exec 3>&-
    finish_bg "$a_pid"
    check "[$v] client A exits 0" test "$RC" -eq 0
    expect_file "[$v] client A output" "$W/a.out" \
        "Client: sending \"first client\""$'\n'"Client: reply: $(reply_to "$v" "first client")"$'\n'"Client: press ENTER to close the connection"$'\n'"Client: closed"

    # From here on, one client at a time. Before each, the server's next instance must be listening
    # (see above: the previous client's instance may be gone before the next one exists).
    # TransactNamedPipe, with a reply of 1546 characters: ERROR_MORE_DATA, then 3 ReadFiles.
    wait_until "[$v] an instance listens" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000
    out=$(timeout $T "$B/transact_client" "$LONG1500" 2>&1)
    rc=$?
    check "[$v] transact_client exits 0" test $rc -eq 0
    expect_file "[$v] transact_client output (reply read in pieces)" <(printf '%s\n' "$out") \
        "Transact: reply: $(reply_to "$v" "$LONG1500")"

    # CallNamedPipe: a reply that fits, and one that does not (ERROR_MORE_DATA, truncated).
    wait_until "[$v] an instance listens" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000
    out=$(timeout $T "$B/call_client" "a call" 2>&1)
    rc=$?
    check "[$v] call_client exits 0" test $rc -eq 0
    expect_file "[$v] call_client output" <(printf '%s\n' "$out") "Call: reply: $(reply_to "$v" "a call")"
    wait_until "[$v] an instance listens" timeout 5 "$NPIPE_CLI" wait samplepipe --timeout 1000
    out=$(timeout $T "$B/call_client" "$LONG600" 2>&1)
    rc=$?
    want=$(reply_to "$v" "$LONG600")
    check "[$v] call_client with a long reply exits 0" test $rc -eq 0
    expect_file "[$v] call_client with a long reply: the first 512 characters" <(printf '%s\n' "$out") \
        "Call: reply: ${want:0:512}"$'\n'"Call: the reply was longer than 512 characters; the rest is lost"

    # The server has served its 7 clients and exits by itself.
    finish_bg "$server_pid"
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
    check "[$v] npipe broker stop" timeout $T "$NPIPE_CLI" broker stop
    if [[ -n $broker_pid ]]; then
        for _ in $(seq 100); do running "$broker_pid" || break; sleep 0.1; done
        if running "$broker_pid"; then fail "[$v] the broker (pid $broker_pid) has exited"
        else pass "[$v] the broker (pid $broker_pid) has exited"; fi
    fi
    unset NPIPE_RUNTIME_DIR
}

# ---- _tmain forms and the functions around pipe code: C and C++, ANSI and UNICODE ---------------
FORMS=$HERE/programs
# build_form PROGRAM LANG VARIANT: builds $FORMS/PROGRAM.c as LANG (c or c++) with VARIANT (ansi or
# unicode) into $WORK/forms/PROGRAM-LANG-VARIANT, strictly, as a user would.
build_form() {
    local p=$1 lang=$2 v=$3 out compiler std
    local -a defs=()
    [[ $v == unicode ]] && defs=(-DUNICODE -D_UNICODE)
    if [[ $lang == c ]]; then
        compiler=cc
        std=-std=c99
        [[ $v == unicode ]] && std=-std=c11 # u"..." literals
    else
        compiler=c++
        std=-std=c++17
    fi
    # shellcheck disable=SC2046 # pkg-config's output is meant to split
    if out=$(timeout 120 "$compiler" "$std" "${defs[@]}" -Wall -Wextra -Wpedantic -Werror "${SANFLAGS[@]}" \
                 -x "$lang" "$FORMS/$p.c" -x none $(pkg-config --cflags --libs npipe) \
                 -Wl,-rpath,"$LIBDIR" -o "$WORK/forms/$p-$lang-$v" 2>&1); then
        pass "$p.c builds as $lang ($v) with no warning"
    else
        fail "$p.c builds as $lang ($v) with no warning" "$out"
        return 1
    fi
}

run_forms() {
    local p lang v exe out err rc want units bad
    mkdir -p "$WORK/forms"
    for p in tmain_void tmain_args; do
        bad=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$FORMS/$p.c" |
              grep -vE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(windows|tchar|strsafe|conio|stdio)\.h>' || true)
        if [[ -z $bad ]]; then pass "$p.c includes only Windows headers and <stdio.h>"
        else fail "$p.c includes only Windows headers and <stdio.h>" "$bad"; fi
    done
    for lang in c c++; do
        for v in ansi unicode; do
            # int _tmain(VOID): a key on stdin, a message box on stderr.
            exe=$WORK/forms/tmain_void-$lang-$v
            if build_form tmain_void "$lang" "$v"; then
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
            if build_form tmain_args "$lang" "$v"; then
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
