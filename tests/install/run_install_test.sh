#!/usr/bin/env bash
# End-to-end test of the install tree: install an already-built build directory into a private
# prefix, check the files a downstream user relies on, build a small consumer program against the
# installed copy twice (pkg-config, and CMake's find_package), and run it with a private runtime
# directory so that the library has to start a broker on demand -- which must be the INSTALLED
# npiped, found relative to the installed libnpipe.so.
#
#   usage: run_install_test.sh BUILD_DIR
#
# Nothing is built in BUILD_DIR (so this can run while nothing else builds there or alongside other
# tests); everything the test creates lives in one temporary directory that is removed at the end,
# and every broker it caused to start is stopped. Prints "N passed, M failed"; exits 1 on failure.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=../lib/e2e.sh
source "$HERE/../lib/e2e.sh" install "$@"
T=60 # seconds allowed to any single command

BROKER_PIDS=()

# shellcheck disable=SC2317 # called by the EXIT trap
# Stop every broker this test started that still runs (only those: their executable is ours).
cleanup() {
    local pid exe
    for pid in "${BROKER_PIDS[@]}"; do
        exe=$(exe_of "$pid") || continue
        if [[ $exe == "$WORK"/* ]]; then
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
            [[ -e /proc/$pid ]] && kill -KILL "$pid" 2>/dev/null
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "build tree: $BUILD"
echo "prefix:     $PREFIX"

# ---- install ------------------------------------------------------------------------------------
# The systemd units (packaging/, install component "systemd") go below the prefix unless the build
# was configured with an absolute unit directory: then they are left out, never installed into
# the real system.
UNITDIR=$(cache_value NPIPE_SYSTEMD_UNITDIR)
UNITS=$(cache_value NPIPE_INSTALL_SYSTEMD_UNITS)
install_args=()
if [[ -z $UNITDIR ]] || ! grep -qiE '^(1|on|yes|true|y)$' <<<"$UNITS"; then
    UNITDIR= # this build installs no units
elif [[ $UNITDIR == /* ]]; then
    echo "note: units go to the absolute $UNITDIR in this build; installing without them"
    install_args=(--component Unspecified)
    UNITDIR=
fi
install_prefix "${install_args[@]}"

# ---- files --------------------------------------------------------------------------------------
for f in bin/npipe bin/npiped; do
    check "$f is an executable" test -f "$PREFIX/$f" -a -x "$PREFIX/$f"
done
for f in include/npipe/named_pipe.hpp include/npipe/namespace.hpp include/npipe/async.hpp include/npipe/asio.hpp \
         include/npipe/detail/asio_ops.hpp; do
    check "$f installed" test -f "$PREFIX/$f"
done
for f in pkgconfig/npipe.pc cmake/npipe/npipeConfig.cmake cmake/npipe/npipeConfigVersion.cmake \
         cmake/npipe/npipeTargets.cmake; do
    check "${LIBDIR#"$PREFIX"/}/$f installed" test -f "$LIBDIR/$f"
done

# libnpipe.so -> libnpipe.so.MAJOR -> libnpipe.so.MAJOR.MINOR.PATCH (a regular file, whose SONAME
# is the middle name).
real=$(readlink -f "$LIBDIR/libnpipe.so")
soname=$(readelf -d "$real" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
check "libnpipe.so is a symbolic link" test -L "$LIBDIR/libnpipe.so"
check "the shared object libnpipe.so resolves to is a regular file in $LIBDIR" \
    test -f "$real" -a ! -L "$real" -a "$(dirname "$real")" = "$LIBDIR"
if [[ $soname == libnpipe.so.* ]]; then
    pass "SONAME is $soname"
    check "$soname is a symbolic link" test -L "$LIBDIR/$soname"
    check "$soname and libnpipe.so resolve to the same file ($(basename "$real"))" \
        test "$(readlink -f "$LIBDIR/$soname")" = "$real"
    if [[ ${real##*/} == "$soname".* ]]; then
        pass "the real file is named after the SONAME (${real##*/})"
    else
        fail "the real file is named after the SONAME (${real##*/})"
    fi
    echo "      libnpipe.so -> $(readlink "$LIBDIR/libnpipe.so"); $soname -> $(readlink "$LIBDIR/$soname")"
else
    fail "libnpipe.so has a SONAME libnpipe.so.N" "readelf says: '$soname'"
fi

# The systemd units of the system-scope broker, when this build installs them.
if [[ -n $UNITDIR ]]; then
    ud=$PREFIX/$UNITDIR
    check "$UNITDIR/npiped.socket installed" test -f "$ud/npiped.socket"
    check "$UNITDIR/npiped.service installed" test -f "$ud/npiped.service"
    check "npiped.service starts the installed broker: ExecStart=$PREFIX/bin/npiped --system" \
        grep -qx "ExecStart=$PREFIX/bin/npiped --system" "$ud/npiped.service"
    check "npiped.socket listens on /run/npipe/broker.sock" \
        grep -qx "ListenStream=/run/npipe/broker.sock" "$ud/npiped.socket"
    if command -v systemd-analyze >/dev/null; then
        check "systemd-analyze verify accepts the units" \
            timeout $T systemd-analyze verify --man=no "$ud/npiped.socket" "$ud/npiped.service"
    fi
else
    echo "SKIP: systemd units (not installed by this build)"
fi

# No installed object may point back into the build tree.
for f in "$PREFIX/bin/npipe" "$PREFIX/bin/npiped" "$real"; do
    paths=$(readelf -d "$f" 2>/dev/null | grep -E 'RPATH|RUNPATH' || true)
    if grep -qF "$BUILD" <<<"$paths"; then
        fail "${f#"$PREFIX"/} has no run path into the build tree" "$paths"
    else
        pass "${f#"$PREFIX"/} has no run path into the build tree"
    fi
done

# ---- the installed programs run on their own ----------------------------------------------------
check "installed npiped runs (--help)" timeout $T "$PREFIX/bin/npiped" --help
check "the SigmaHQ rules are installed with their licence notice" \
    test -f "$PREFIX/share/npipe/rules/sigma/NOTICE.md" -a -d "$PREFIX/share/npipe/rules/sigma/rules"
rules_file=$(timeout $T "$PREFIX/bin/npipe" rules list --json 2>/dev/null | grep -m1 '"file"' || true)
check "installed npipe loads the installed rules ($rules_file)" \
    test -n "$rules_file" -a -z "${rules_file##*"$PREFIX/"*}"
CLI_ENV=()
if out=$(timeout $T "$PREFIX/bin/npipe" --help 2>&1); then
    pass "installed npipe runs (--help) without LD_LIBRARY_PATH"
else
    fail "installed npipe runs (--help) without LD_LIBRARY_PATH (it needs a run path to ${LIBDIR#"$PREFIX"/})" "$out"
    CLI_ENV=(LD_LIBRARY_PATH="$LIBDIR") # carry on, so the rest is still tested
fi
cli() { env "${CLI_ENV[@]}" timeout $T "$PREFIX/bin/npipe" "$@"; }

# ---- compiler flags matching the build (a sanitized library needs a sanitized program) ----------
SAN=$(sed -n 's/^NPIPE_SANITIZE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null)
case $SAN in
    address) SANFLAGS=("-fsanitize=address,undefined") ;;
    thread) SANFLAGS=(-fsanitize=thread) ;;
    *) SANFLAGS=() ;;
esac

CONSUMERS=()

# ---- consumer 1: pkg-config ---------------------------------------------------------------------
pc() { PKG_CONFIG_PATH="$LIBDIR/pkgconfig" timeout $T pkg-config "$@"; }
version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")/\1/p' "$LIBDIR/cmake/npipe/npipeConfigVersion.cmake")
if pc --exists npipe; then
    pass "pkg-config finds npipe"
    check "pkg-config version ($(pc --modversion npipe)) is the package version ($version)" \
        test "$(pc --modversion npipe)" = "$version"
    pc_prefix=$(pc --variable=prefix npipe)
    pc_libdir=$(pc --variable=libdir npipe)
    pc_incdir=$(pc --variable=includedir npipe)
    check "npipe.pc's prefix is the install prefix (it is '$pc_prefix')" test "$(readlink -m "$pc_prefix")" = "$PREFIX"
    check "npipe.pc's libdir holds libnpipe.so (libdir is '$pc_libdir')" test -e "$pc_libdir/libnpipe.so"
    check "npipe.pc's includedir holds npipe/named_pipe.hpp (includedir is '$pc_incdir')" \
        test -f "$pc_incdir/npipe/named_pipe.hpp"
    flags=$(pc --cflags --libs npipe)
    echo "      pkg-config --cflags --libs npipe: $flags"
    # shellcheck disable=SC2086 # the flags are meant to split
    if out=$(timeout 120 c++ -std=c++20 "${SANFLAGS[@]}" "$HERE/consumer.cpp" -o "$WORK/consumer-pkgconfig" \
                 $flags -Wl,-rpath,"$LIBDIR" 2>&1); then
        pass "consumer builds with pkg-config's flags"
        CONSUMERS+=(pkgconfig "$WORK/consumer-pkgconfig")
    else
        fail "consumer builds with pkg-config's flags" "$out"
        if [[ $pc_prefix != "$PREFIX" ]]; then
            # npipe.pc names the configure-time prefix: override its variables, only so that the
            # run below still tests this consumer (the failures above stand).
            flags=$(pc --define-variable=prefix="$PREFIX" --define-variable=libdir="$LIBDIR" \
                       --define-variable=includedir="$PREFIX/include" --cflags --libs npipe)
            # shellcheck disable=SC2086
            if timeout 120 c++ -std=c++20 "${SANFLAGS[@]}" "$HERE/consumer.cpp" -o "$WORK/consumer-pkgconfig" \
                   $flags -Wl,-rpath,"$LIBDIR"; then
                echo "      (built it with npipe.pc's variables overridden, to go on testing)"
                CONSUMERS+=(pkgconfig "$WORK/consumer-pkgconfig")
            fi
        fi
    fi
else
    fail "pkg-config finds npipe (PKG_CONFIG_PATH=$LIBDIR/pkgconfig)"
fi

# ---- consumer 2: CMake package ------------------------------------------------------------------
cm_build=$WORK/cmake-consumer
if out=$(timeout 120 cmake -S "$HERE/cmake_consumer" -B "$cm_build" -DCMAKE_BUILD_TYPE=Release \
             -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
             -DCMAKE_CXX_FLAGS="${SANFLAGS[*]}" -DCMAKE_EXE_LINKER_FLAGS="${SANFLAGS[*]}" 2>&1); then
    pass "find_package(npipe) configures (CMAKE_PREFIX_PATH=<prefix>)"
    npipe_dir=$(sed -n 's/^npipe_DIR:PATH=//p' "$cm_build/CMakeCache.txt")
    check "find_package found the installed package ($npipe_dir)" \
        test "$(readlink -f "$npipe_dir")" = "$(readlink -f "$LIBDIR/cmake/npipe")"
    if out=$(timeout 120 cmake --build "$cm_build" 2>&1); then
        pass "consumer builds with target_link_libraries(... npipe::npipe)"
        CONSUMERS+=(cmake "$cm_build/consumer")
    else
        fail "consumer builds with target_link_libraries(... npipe::npipe)" "$out"
    fi
else
    fail "find_package(npipe) configures (CMAKE_PREFIX_PATH=<prefix>)" "$out"
fi

# ---- run a consumer: it must start the installed broker by itself --------------------------------
# run_consumer LABEL PROGRAM LIBRARY_DIR  (LIBRARY_DIR: where libnpipe.so must be loaded from; the
# broker must be LIBRARY_DIR/../bin/npiped's install, i.e. PREFIX/bin/npiped of that tree)
run_consumer() {
    local kind=$1 prog=$2 want_lib=$3 want_broker=$4 rt out rc pid exe status cli_pid lib
    shift 4
    local -a extra_env=("$@")
    rt=$(mktemp -d "$WORK/rt.XXXXXX") # private: 0700, owned by us
    run() { env -u NPIPE_BROKER NPIPE_RUNTIME_DIR="$rt" "${extra_env[@]}" timeout $T "$@"; }

    lib=$(run ldd "$prog" 2>/dev/null | awk '$1 ~ /^libnpipe\.so/ { print $3 }')
    check "[$kind] the consumer loads libnpipe from $want_lib (it loads '$lib')" \
        test -n "$lib" -a "$(readlink -f "$lib")" = "$(readlink -f "$want_lib/$(basename "$real")")"

    if out=$(run "$prog" status 2>&1); then
        fail "[$kind] no broker runs before the consumer" "$out"
    else
        pass "[$kind] no broker runs before the consumer"
    fi

    out=$(run "$prog" 2>&1)
    rc=$?
    pid=$(sed -n 's/^broker_pid=//p' <<<"$out")
    [[ -n $pid ]] && BROKER_PIDS+=("$pid")
    if [[ $rc -eq 0 && $(tail -n 1 <<<"$out") == OK ]]; then
        pass "[$kind] consumer exchanges a message and prints OK"
    else
        fail "[$kind] consumer exchanges a message and prints OK (exit $rc)" \
            "$out"$'\n'"--- broker log:"$'\n'"$(cat "$rt/npiped.log" 2>/dev/null)"
        run "$prog" stop >/dev/null 2>&1 # whatever started, stop it
        return
    fi
    check "[$kind] the broker serves the private runtime directory" \
        test "$(sed -n 's/^runtime_dir=//p' <<<"$out")" = "$rt"

    exe=$(exe_of "$pid")
    check "[$kind] the autostarted broker (pid $pid) is $want_broker (it is '${exe:-gone}')" \
        test -n "$exe" -a "$exe" = "$(readlink -f "$want_broker")"

    # The installed CLI sees the same broker and stops it.
    if status=$(cli broker status --json --runtime-dir "$rt" 2>&1); then
        cli_pid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' <<<"$status" 2>/dev/null)
        check "[$kind] 'npipe broker status' reports the same broker (pid ${cli_pid:-?})" test "$cli_pid" = "$pid"
        check "[$kind] 'npipe broker stop' stops it" cli broker stop --runtime-dir "$rt"
    else
        fail "[$kind] 'npipe broker status' reports the broker" "$status"
        check "[$kind] stop_broker() stops it" run "$prog" stop
    fi
    for _ in $(seq 100); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
    check "[$kind] the broker has exited" test ! -e "/proc/$pid"
    check "[$kind] the broker removed its socket" test ! -e "$rt/broker.sock"
}

for ((i = 0; i < ${#CONSUMERS[@]}; i += 2)); do
    run_consumer "${CONSUMERS[i]}" "${CONSUMERS[i + 1]}" "$LIBDIR" "$PREFIX/bin/npiped"
done

finish
