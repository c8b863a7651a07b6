# conformance-lib.sh: sourced by the tests/conformance-*.sh test scripts,
# which run the installed-to-be conformance suite (tools/dal-plugin-check,
# DAL_PLUGIN_CHECK) on one plugin each and pass its TAP through.  Under
# DAL_TEST_VALGRIND=1 it runs under valgrind (tests/harness/tap-run).
# shellcheck shell=bash
set -euo pipefail

tap_run=${DAL_TEST_SRCDIR:?run by make check}/harness/tap-run
builddir=${DAL_TEST_BUILDDIR:?run by make check}

# conformance_skip REASON: the whole program is skipped (TAP: 1..0).
conformance_skip() {
    echo "1..0 # SKIP $1"
    exit 0
}

# conformance_run ARG...: dal-plugin-check ARG... (TAP on stdout).
conformance_run() {
    exec "$tap_run" "${DAL_PLUGIN_CHECK:?run by make check}" "$@"
}

# Percent-encodes $1 for a URL part.
url_encode() {
    local s=$1 out= c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# conformance_pg SCHEME ARG...: the suite on the harness's PostgreSQL over
# verified TLS; skipped without it (failed under DAL_TEST_REQUIRE_SERVER=1,
# as the live test programs are).
conformance_pg() {
    local scheme=$1
    shift
    if [[ -z ${DAL_TEST_PG_PORT:-} ]]; then
        if [[ ${DAL_TEST_REQUIRE_SERVER:-} == 1 ]]; then
            echo "1..1"
            echo "not ok 1 - no live server although DAL_TEST_REQUIRE_SERVER=1: run under tests/harness/pg-harness"
            exit 1
        fi
        conformance_skip "no live server: run under tests/harness/pg-harness (scripts/test or make check-live)"
    fi
    local url
    url="$scheme://$(url_encode "$DAL_TEST_PG_USER"):$(url_encode "$DAL_TEST_PG_PASSWORD")"
    url+="@127.0.0.1:$DAL_TEST_PG_PORT/$(url_encode "$DAL_TEST_PG_DATABASE")"
    url+="?sslmode=verify-full&sslrootcert=$(url_encode "$DAL_TEST_CA_FILE")"
    conformance_run "$@" "$url"
}
