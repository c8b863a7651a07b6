#!/usr/bin/env bash
# out-of-tree.sh: a plugin author's path, end to end, without network or
# root.  Installs this build of libdal into a temporary DESTDIR, builds
# examples/plugin/ there with its own Makefile (pkg-config and libtool,
# nothing of the build tree), loads it by URL through DAL_PLUGIN_PATH and
# runs the installed conformance suite on it with the installed
# `dal conformance` (TAP on stdout).
set -euo pipefail
# What it makes must pass the loader's checks (no group- or world-writable
# plugin files or folders: core/dal-plugin-files.c), whatever the caller's umask.
umask 022

builddir=${DAL_TEST_BUILDDIR:?run by make check}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dal-out-of-tree.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

bail() {
    echo "Bail out! $*"
    exit 1
}

# A make of our own, not a part of the `make check` that runs this.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; bail "make install DESTDIR=... failed (log above, on stderr)"; }

# Where things went (the configure prefix, under DESTDIR).
pc=$(find "$tmp/root" -name dal-plugin-1.pc | head -n 1)
dal=$(find "$tmp/root" -path '*/bin/dal' -type f | head -n 1)
check=$(find "$tmp/root" -name dal-plugin-check -type f | head -n 1)
[[ -n $pc && -n $dal && -n $check ]] || bail "make install did not install dal-plugin-1.pc, dal and dal-plugin-check"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")

# The .pc files name the configured prefix: point them into DESTDIR.
prefix=$(sed -n 's/^prefix=//p' "$pc")
sed -i "s|^prefix=.*|prefix=$tmp/root$prefix|" "$pcdir"/dal-1.pc "$pcdir"/dal-plugin-1.pc
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# The plugin's folder holds what a plugin author has: the three files,
# built with the system's libtool (not the build tree's, which make check
# names in LIBTOOL).
unset LIBTOOL
# They come from the installed plugin kit ($docdir/examples/plugin).
kit=$(find "$tmp/root" -path '*/examples/plugin/echo.c' | head -n 1)
[[ -n $kit ]] || bail "make install did not install the plugin kit (examples/plugin/echo.c under \$docdir)"
mkdir "$tmp/echo"
cp "$(dirname "$kit")"/{echo.c,echo.plugin,Makefile} "$tmp/echo/"
make -s -C "$tmp/echo" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; bail "building examples/plugin with its Makefile failed (log above, on stderr)"; }
[[ -e $tmp/echo/.libs/echo.so ]] || bail "the plugin's Makefile made no .libs/echo.so"

# Only the new plugin and the installed ones: nothing of the build tree.
export DAL_PLUGIN_PATH=$tmp/echo
export DAL_PLUGIN_SYSTEM_PATH=
export DAL_PLUGIN_CHECK=$check
args=(--slow-sql 'SELECT sleep(60)' --fail-url echo://localhost echo://localhost/demo)
if [[ ${DAL_TEST_VALGRIND:-0} == 1 ]]; then
    # the program itself, under valgrind (`dal conformance` only execs it)
    "${DAL_TEST_SRCDIR}/harness/tap-run" "$check" "${args[@]}"
else
    "$dal" conformance "${args[@]}"
fi
