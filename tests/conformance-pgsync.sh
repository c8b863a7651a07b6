#!/usr/bin/env bash
# The conformance suite on pgsync (live).
. "$(dirname "$0")/conformance-lib.sh"
conformance_pg postgresql+psycopg2
