#!/usr/bin/env bash
# The conformance suite on the example plugin, built in the tree (no
# server).  Its dialect is unknown to the suite: the slow statement and a
# URL that fails to connect are given as a plugin author would.
. "$(dirname "$0")/conformance-lib.sh"
# The module is built in the build tree, its descriptor file lies in the
# source tree (apart in a VPATH build): a descriptor of our own names the
# module by absolute path (Module= may).
srcdir=$(cd "$DAL_TEST_SRCDIR/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dal-conformance-echo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed "s|^Module=.*|Module=$builddir/examples/plugin/echo|" \
    "$srcdir/examples/plugin/echo.plugin" >"$tmp/echo.plugin"
status=0
"$tap_run" "$DAL_PLUGIN_CHECK" --plugin-dir "$tmp" \
    --slow-sql 'SELECT sleep(60)' --fail-url echo://localhost echo://localhost/demo || status=$?
exit "$status"
