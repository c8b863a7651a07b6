#!/usr/bin/env bash
# The conformance suite on the SQLite plugin, when it is built (no server).
# HOOK for the lead: runs as soon as plugins/sqlite/sqlite.la exists; the
# dialect's slow and failing statements are the suite's defaults for
# "sqlite" (tools/dal-plugin-check.c).
. "$(dirname "$0")/conformance-lib.sh"
dir=$builddir/plugins/sqlite
[[ -e $dir/sqlite.la ]] || conformance_skip "the SQLite plugin is not built (no $dir/sqlite.la)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dal-conformance-sqlite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# not exec'd: the trap removes the database afterwards
status=0
"$tap_run" "$DAL_PLUGIN_CHECK" --plugin-dir "$dir" "sqlite+pysqlite:///$tmp/conformance.db" || status=$?
exit "$status"
