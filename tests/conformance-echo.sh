#!/usr/bin/env bash
# The conformance suite on the example plugin, built in the tree (no
# server).  Its dialect is unknown to the suite: the slow statement and a
# URL that fails to connect are given as a plugin author would.
. "$(dirname "$0")/conformance-lib.sh"
conformance_run --plugin-dir "$builddir/examples/plugin" \
    --slow-sql 'SELECT sleep(60)' --fail-url echo://localhost echo://localhost/demo
