#!/usr/bin/env bash
# test-gi.sh: libdal from Python through GObject Introspection
# (tests/test-gi.py), against the build tree's Dal-1.0.typelib and
# libdal-1.so.  TAP on stdout.
#
# Skipped without the typelib (configure found no gobject-introspection)
# or without PyGObject, unless DAL_TEST_REQUIRE_TOOLS=1 (scripts/test sets
# it, so CI cannot skip it silently).  Without a live server the test runs
# only its offline part.
set -uo pipefail

builddir=${DAL_TEST_BUILDDIR:?run by make check}
srcdir=${DAL_TEST_SRCDIR:?run by make check}

skip_or_fail() {
    if [[ ${DAL_TEST_REQUIRE_TOOLS:-} == 1 ]]; then
        echo "1..1"
        echo "not ok 1 - $1, although DAL_TEST_REQUIRE_TOOLS=1 (scripts/deps installs it)"
        exit 1
    fi
    echo "1..0 # SKIP $1"
    exit 0
}

[[ -f $builddir/Dal-1.0.typelib ]] ||
    skip_or_fail "no Dal-1.0.typelib in the build tree (introspection off: --disable-introspection, or gobject-introspection not installed)"

# A python3 with PyGObject: $PYTHON3 (configure's), python3 on PATH, the
# system's.
py=
for cand in "${PYTHON3:-}" python3 /usr/bin/python3; do
    [[ -n $cand ]] || continue
    if "$cand" -c 'import gi' >/dev/null 2>&1; then
        py=$cand
        break
    fi
done
[[ -n $py ]] || skip_or_fail "no python3 with PyGObject (Debian: python3-gi)"

export GI_TYPELIB_PATH=$builddir${GI_TYPELIB_PATH:+:$GI_TYPELIB_PATH}
export LD_LIBRARY_PATH=$builddir/core/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$py" "$srcdir/test-gi.py"
