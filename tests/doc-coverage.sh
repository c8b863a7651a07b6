#!/usr/bin/env bash
# doc-coverage.sh: make check fails on an undocumented public symbol.
#
#   1. tests/doc-coverage.py finds its known offenders in
#      tests/doc-coverage-bad.h (the checker itself can fail);
#   2. tests/doc-coverage.py on include/dal/*.h: every public function,
#      type, macro, enum value and struct field (plugin-table slots
#      included) has a complete doc comment where it is declared;
#   3. `gi-docgen check` on the build tree's Dal-1.0.gir (skipped without
#      gi-docgen or the GIR);
#   4. the plugin kit, which is not in Dal-1.0.gir: g-ir-scanner reads
#      dal-plugin.h into a GIR of its own (in a temporary folder), which
#      must scan without a warning about its doc comments and pass
#      `gi-docgen check` (skipped without g-ir-scanner, gi-docgen or
#      Dal-1.0.gir).
set -uo pipefail

# Checks 3 and 4 skip without their tools, unless DAL_TEST_REQUIRE_TOOLS=1
# (scripts/test sets it: CI installs them, and must not skip them).
skip() {
    if [[ ${DAL_TEST_REQUIRE_TOOLS:-} == 1 ]]; then
        echo "not ok $1 - $2, although DAL_TEST_REQUIRE_TOOLS=1 (scripts/deps installs it)"
    else
        echo "ok $1 # SKIP $2"
    fi
}

srcdir=${DAL_TEST_SRCDIR:?run by make check}
builddir=${DAL_TEST_BUILDDIR:?run by make check}
py=${PYTHON3:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dal-doc-coverage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "1..4"

# 1. The checker finds what it must.
"$py" "$srcdir/doc-coverage.py" "$srcdir/doc-coverage-bad.h" >"$tmp/bad.out" 2>&1
rc=$?
want=(
    "BAD_UNDOCUMENTED_MACRO: no doc comment"
    "BAD_MACRO_ARGS: no @b: line"
    "bad_no_returns: no Returns: line"
    "bad_no_returns: no Since: line"
    "bad_missing_param: no @count: line"
    "bad_missing_param: no @...: line"
    "bad_undocumented: no doc comment"
    "BadEnum: no @BAD_TWO: line"
    "BadStruct: no @field_b: line"
    "BadStruct: no @slot: line"
    "BadStruct: @stale: names no field"
    "BadOpaque: no doc comment"
    "BadObject: no doc comment"
    "BadCallback: no @y: line"
    "BadCallback: no Returns: line"
)
missed=()
for w in "${want[@]}"; do
    grep -qF -- "$w" "$tmp/bad.out" || missed+=("$w")
done
n=$(grep -c '^# ' "$tmp/bad.out")
if ((rc == 1 && ${#missed[@]} == 0 && n == ${#want[@]})); then
    echo "ok 1 - the checker names each of the ${#want[@]} gaps of doc-coverage-bad.h"
else
    echo "not ok 1 - the checker on doc-coverage-bad.h: exit $rc, $n reports (want 1, ${#want[@]}); missed: ${missed[*]:-none}"
    sed 's/^/# /' "$tmp/bad.out"
fi

# 2. The headers.
if "$py" "$srcdir/doc-coverage.py" >"$tmp/headers.out" 2>&1; then
    echo "ok 2 - every public symbol of include/dal has a complete doc comment"
else
    echo "not ok 2 - undocumented public symbols in include/dal:"
fi
sed 's/^/# /' "$tmp/headers.out"

# 3. gi-docgen check on the GIR.
gir=$builddir/Dal-1.0.gir
if ! command -v gi-docgen >/dev/null; then
    skip 3 "gi-docgen is not installed"
elif [[ ! -f $gir ]]; then
    skip 3 "no Dal-1.0.gir in the build tree (introspection off)"
else
    if gi-docgen check "$gir" >"$tmp/gidocgen.out" 2>&1; then
        echo "ok 3 - gi-docgen check Dal-1.0.gir"
    else
        echo "not ok 3 - gi-docgen check Dal-1.0.gir reports missing documentation"
    fi
    sed 's/^/# /' "$tmp/gidocgen.out"
fi

# 4. The plugin kit through g-ir-scanner and gi-docgen check.
top_srcdir=$(cd "$srcdir/.." && pwd)
if ! command -v gi-docgen >/dev/null || ! command -v g-ir-scanner >/dev/null; then
    skip 4 "gi-docgen or g-ir-scanner is not installed"
elif [[ ! -f $gir ]]; then
    skip 4 "no Dal-1.0.gir in the build tree (introspection off)"
else
    # shellcheck disable=SC2046
    (cd "$tmp" && g-ir-scanner --warn-all --quiet --namespace=DalPlugin --nsversion=1.0 \
        --identifier-prefix=Dal --symbol-prefix=dal --c-include=dal/dal-plugin.h \
        --include=GLib-2.0 --include=GObject-2.0 --include=Gio-2.0 \
        --include-uninstalled="$gir" \
        -I"$builddir/include" -I"$top_srcdir/include" -DDAL_COMPILATION \
        $(pkg-config --cflags glib-2.0 gio-2.0) \
        --library="$builddir/core/libdal-1.la" --libtool="$builddir/libtool" \
        "$top_srcdir/include/dal/dal-plugin.h" -o "$tmp/DalPlugin-1.0.gir") \
        >"$tmp/scan.out" 2>&1
    rc=$?
    # Warnings about doc comments (not the binding ones, such as a bare
    # struct returned: the plugin kit is C only).
    grep -E 'Warning: .*(annotation|missing ":"|unknown|not found|multiple comment)' \
        "$tmp/scan.out" >"$tmp/scan.warn"
    if ((rc == 0)) && [[ ! -s $tmp/scan.warn ]] &&
        gi-docgen check --add-include-path "$builddir" "$tmp/DalPlugin-1.0.gir" >"$tmp/kit.out" 2>&1 &&
        ! grep -q WARNING "$tmp/kit.out"; then
        echo "ok 4 - dal-plugin.h: g-ir-scanner and gi-docgen check find nothing to report"
    else
        echo "not ok 4 - dal-plugin.h: g-ir-scanner (exit $rc) or gi-docgen check reports problems"
        sed 's/^/# /' "$tmp/scan.out" "$tmp/kit.out" 2>/dev/null
    fi
fi
