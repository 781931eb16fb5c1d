#!/usr/bin/env bash
# ./dev demo: a server and a client in separate processes, in byte and message mode, with
# `npipe list` while the servers run. Nothing is started by hand: the first `npipe serve`
# starts the broker. A private runtime directory keeps the demo away from your own pipes.
set -euo pipefail
BIN=${1:?usage: demo.sh BINDIR}
export PATH="$BIN:$PATH"
NPIPE_RUNTIME_DIR=$(mktemp -d /tmp/npipe-demo-XXXXXX)
export NPIPE_RUNTIME_DIR
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    npipe broker stop >/dev/null 2>&1 || true
    rm -rf "$NPIPE_RUNTIME_DIR"
}
trap cleanup EXIT

# WaitNamedPipe fails at once for a name nobody has created yet, so wait for the name first.
wait_for_pipe() {
    for _ in $(seq 200); do
        npipe info "$1" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "demo: $1 did not appear" >&2
    return 1
}

step() { printf '\n\033[1;34m## %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }

step "A byte-mode echo server, in the background"
show 'npipe serve demo --echo &'
npipe serve demo --echo & pids+=($!)
wait_for_pipe demo
echo "(the broker started by itself: $(npipe broker status | grep -i pid | head -1))"

step "A client in another process: netcat for pipes"
show 'printf "hello over a byte pipe\n" | npipe connect demo -q 500'
printf 'hello over a byte pipe\n' | timeout 10 npipe connect demo -q 500

step "A message-mode echo server with four instances"
show 'npipe serve demo-messages --message --instances 4 --echo &'
npipe serve demo-messages --message --instances 4 --echo & pids+=($!)
wait_for_pipe demo-messages

step "CallNamedPipe: one message in, one message out"
show 'npipe call demo-messages "hello, message mode"'
timeout 10 npipe call demo-messages "hello, message mode"
echo

step "A client that stays connected, so the list shows a peer"
sleep_fifo=$(mktemp -u /tmp/npipe-demo-fifo-XXXXXX)
mkfifo "$sleep_fifo"
(timeout 20 npipe connect demo-messages --message < "$sleep_fifo" > /dev/null) & pids+=($!)
exec 9>"$sleep_fifo"
for _ in $(seq 100); do
    npipe info demo-messages --json | grep -q '"connected"' && break
    sleep 0.05
done

step "npipe list while the servers run"
show 'npipe list'
npipe list
show 'npipe info demo-messages --json'
npipe info demo-messages --json

exec 9>&-
rm -f "$sleep_fifo"

EXAMPLES=$BIN/../examples/win32
if [ -x "$EXAMPLES/pipe_server" ]; then
    step "Windows code, recompiled: Microsoft-style samples that only #include <windows.h>"
    show 'pipe_server 2 &   (examples/win32: CreateNamedPipe, ConnectNamedPipe, a thread per client)'
    timeout 20 "$EXAMPLES/pipe_server" 2 > "$NPIPE_RUNTIME_DIR/server.out" & server=$!
    wait_for_pipe samplepipe
    show 'pipe_client "hello from a Win32 client" < /dev/null'
    timeout 10 "$EXAMPLES/pipe_client" "hello from a Win32 client" < /dev/null
    show 'call_client "and one CallNamedPipe"'
    timeout 10 "$EXAMPLES/call_client" "and one CallNamedPipe"
    wait "$server" || true
    sed 's/^/    server| /' "$NPIPE_RUNTIME_DIR/server.out"
    step "CreatePipe + CreateProcess: a child's stdin and stdout through anonymous pipes"
    printf 'three lines\nthrough a child\nand back\n' > "$NPIPE_RUNTIME_DIR/input.txt"
    show 'redirect_parent input.txt'
    timeout 10 "$EXAMPLES/redirect_parent" "$NPIPE_RUNTIME_DIR/input.txt"
fi
step "For defenders: every create, connect and denial is an event; Sigma rules flag beacon-like names"
show 'npipe rules test MSSE-1234-server      (Cobalt Strike'"'"'s default pipe name)'
npipe rules test MSSE-1234-server || true
show 'npipe serve MSSE-1234-server --echo &   (a pipe named like a beacon)'
npipe serve MSSE-1234-server --echo 2>/dev/null & pids+=($!)
wait_for_pipe MSSE-1234-server
show 'npipe monitor                        (the broker'"'"'s events so far)'
npipe monitor | tail -n 8
show 'npipe audit'
npipe audit || true
step "Done: stopping the servers removes their pipes"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
for _ in $(seq 100); do
    [ "$(npipe list --json)" = "[]" ] && break
    sleep 0.05
done
show 'npipe list'
npipe list
