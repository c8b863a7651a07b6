#!/usr/bin/env bash
# doc-examples.sh: every ```c block of README.md, docs/*.md and
# docs/reference/*.md compiles,
# with -Wall -Wextra -Werror against the build tree, and every complete
# program among them runs against the harness's PostgreSQL (TAP, one test
# per block).
#
# What a block is (docs/api.md, "Examples in the documentation"):
#   - a block that defines main() is a complete program: compiled, linked
#     with libdal and run with DATABASE_URL set to the harness's server
#     (pgasync, verified TLS); it passes when it exits with status 0.
#     Without a server it is compiled and linked only.  The tables the
#     programs use are made by doc-examples.sql first.
#   - any other block is a fragment, compiled (not linked) as the top level
#     of a file that includes <dal/dal.h>: declarations, functions.
#   - a fragment of statements is marked on the line before its fence with
#     <!-- doc-example: statements -->
#     and compiled as the body of a function, after the declarations of
#     tests/doc-examples-prelude.h (conn, pool, url, error, ... that the
#     docs use without declaring them).
#   - <!-- doc-example: skip REASON --> leaves a block out (REASON is
#     required; the test lists it as skipped).
# An unmarked block that does not compile fails the test.
set -euo pipefail

srcdir=${DAL_TEST_SRCDIR:?run by make check}/..
builddir=${DAL_TEST_BUILDDIR:?run by make check}
cc=${DAL_TEST_CC:?run by make check}
read -r -a cflags <<<"${DAL_TEST_CFLAGS:?run by make check}"
read -r -a libs <<<"${DAL_TEST_LIBS:?run by make check}"
read -r -a libtool <<<"${LIBTOOL:?run by make check}"   # e.g. "/bin/bash ./libtool"
tap_run=$srcdir/tests/harness/tap-run
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dal-doc-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

warn=(-Wall -Wextra -Werror -std=gnu11)

# url_encode (the conformance scripts' helpers).
. "$srcdir/tests/conformance-lib.sh"

url=
if [[ -n ${DAL_TEST_PG_PORT:-} ]]; then
    url="postgresql+asyncpg://$(url_encode "$DAL_TEST_PG_USER"):$(url_encode "$DAL_TEST_PG_PASSWORD")"
    url+="@127.0.0.1:$DAL_TEST_PG_PORT/$(url_encode "$DAL_TEST_PG_DATABASE")"
    url+="?sslmode=verify-full&sslrootcert=$(url_encode "$DAL_TEST_CA_FILE")"
elif [[ ${DAL_TEST_REQUIRE_SERVER:-} == 1 ]]; then
    echo "1..1"
    echo "not ok 1 - no live server although DAL_TEST_REQUIRE_SERVER=1: run under tests/harness/pg-harness"
    exit 1
fi

# The blocks: $tmp/N.c (the text), $tmp/N.meta ("FILE LINE MODE [REASON]").
n=0
for md in "$srcdir"/README.md "$srcdir"/docs/*.md "$srcdir"/docs/reference/*.md; do
    rel=${md#"$srcdir"/}
    n=$(awk -v rel="$rel" -v out="$tmp" -v n="$n" '
        function flush_meta(mode) { print rel, start, mode > (out "/" n ".meta"); close(out "/" n ".meta") }
        inblock && /^```[ \t]*$/ { inblock = 0; close(out "/" n ".c"); next }
        inblock { print > (out "/" n ".c"); next }
        /^```c[ \t]*$/ {
            n++; inblock = 1; start = NR + 1
            mode = "auto"
            if (prev ~ /^<!-- doc-example: statements -->$/) mode = "statements"
            else if (prev ~ /^<!-- doc-example: skip [^ ].* -->$/) {
                reason = prev; sub(/^<!-- doc-example: skip /, "", reason); sub(/ -->$/, "", reason)
                mode = "skip " reason
            } else if (prev ~ /^<!-- doc-example:/) mode = "bad"
            printf "" > (out "/" n ".c")
            flush_meta(mode)
            next
        }
        /[^ \t]/ { prev = $0 }
        END { print n }' "$md")
done

echo "1..$n"

if [[ -n $url ]]; then
    # The tables the complete programs use.
    while IFS= read -r sql; do
        [[ -z $sql || $sql == --* ]] && continue
        "$builddir/tools/dal" query "$url" "$sql" >"$tmp/fixture.log" 2>&1 ||
            { cat "$tmp/fixture.log" >&2; echo "Bail out! doc-examples.sql: $sql failed"; exit 1; }
    done <"$srcdir/tests/doc-examples.sql"
fi

failed=0
for ((i = 1; i <= n; i++)); do
    read -r file line mode reason <"$tmp/$i.meta"
    what="$file:$line"
    src=$tmp/$i.c
    if [[ $mode == bad ]]; then
        echo "not ok $i - $what: unknown doc-example marker (statements, or skip REASON)"
        failed=1
        continue
    fi
    if [[ $mode == skip ]]; then
        echo "ok $i - $what # SKIP marked: $reason"
        continue
    fi
    unit=$tmp/unit$i.c
    complete=0
    if grep -Eq '^(int[[:space:]]+)?main[[:space:]]*\(' "$src"; then
        complete=1
        { echo "#line $line \"$file\""; cat "$src"; } >"$unit"
    elif [[ $mode == statements ]]; then
        { echo '#define DOC_EXAMPLE_STATEMENTS 1'
          echo "#include \"$srcdir/tests/doc-examples-prelude.h\""
          echo 'gboolean doc_example (void);'
          echo 'gboolean doc_example (void)'
          echo '{'
          echo 'DOC_EXAMPLE_PRELUDE'
          echo '{'
          echo "#line $line \"$file\""
          cat "$src"
          echo '}'
          echo 'return TRUE;'
          echo '}'; } >"$unit"
    else
        { echo "#include \"$srcdir/tests/doc-examples-prelude.h\""
          echo "#line $line \"$file\""
          cat "$src"; } >"$unit"
    fi

    if ((complete)); then
        if ! "${libtool[@]}" --quiet --mode=link "$cc" "${warn[@]}" "${cflags[@]}" -o "$tmp/prog$i" \
                "$unit" "$builddir/core/libdal-1.la" "${libs[@]}" >"$tmp/cc$i.log" 2>&1; then
            sed 's/^/# /' "$tmp/cc$i.log"
            echo "not ok $i - $what: the program does not compile"
            failed=1
            continue
        fi
        if [[ -z $url ]]; then
            echo "ok $i - $what: a program, compiled # SKIP no live server to run it on"
            continue
        fi
        status=0
        DATABASE_URL=$url timeout 120 "$tap_run" "$tmp/prog$i" </dev/null >"$tmp/run$i.log" 2>&1 || status=$?
        if ((status != 0)); then
            sed 's/^/# /' "$tmp/run$i.log"
            echo "not ok $i - $what: the program exited with status $status"
            failed=1
            continue
        fi
        if grep -q "$DAL_TEST_PG_PASSWORD" "$tmp/run$i.log"; then
            echo "not ok $i - $what: the program printed the password"
            failed=1
            continue
        fi
        echo "ok $i - $what: a program, ran"
    else
        extra=(-Wno-unused-function)
        [[ $mode == statements ]] && extra+=(-Wno-unused-variable -Wno-unused-but-set-variable)
        if ! "$cc" "${warn[@]}" "${extra[@]}" "${cflags[@]}" -c -o "$tmp/unit$i.o" "$unit" \
                >"$tmp/cc$i.log" 2>&1; then
            sed 's/^/# /' "$tmp/cc$i.log"
            echo "not ok $i - $what: the fragment does not compile (fix it, or mark it: see tests/doc-examples.sh)"
            failed=1
            continue
        fi
        if [[ $mode == statements ]]; then
            echo "ok $i - $what: a fragment of statements, compiled"
        else
            echo "ok $i - $what: a fragment, compiled"
        fi
    fi
done
exit $failed
