#!/usr/bin/env bash
# The conformance suite on pgasync (live).
. "$(dirname "$0")/conformance-lib.sh"
conformance_pg postgresql+asyncpg
