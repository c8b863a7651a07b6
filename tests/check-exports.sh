#!/usr/bin/env bash
# What libdal-1.so exports (TAP): exactly the functions that
# include/dal/*.h declares, each one after a DAL_AVAILABLE_IN_* or
# DAL_DEPRECATED_IN_* line; every one with the ELF version DAL_0.1
# (core/libdal.map); no _dal_ internal and nothing else.  And the
# check-only copy the tests link (tests/internal/) has the same soname.
set -euo pipefail

builddir=${DAL_TEST_BUILDDIR:?run by make check}
srcdir=$(cd "${DAL_TEST_SRCDIR:?run by make check}/.." && pwd)
lib=$builddir/core/.libs/libdal-1.so
internal=$builddir/tests/internal/.libs/libdal-1.so
version=DAL_0.1

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; }
# check DESCRIPTION LIST: passes when LIST is empty, else shows it.
check() {
    if [[ -z $2 ]]; then ok "$1"; else not_ok "$1"; sed 's/^/# /' <<<"$2"; fi
}

echo "1..7"
command -v readelf >/dev/null || { echo "Bail out! readelf (binutils) not found"; exit 1; }
[[ -f $lib ]] || { echo "Bail out! $lib not built"; exit 1; }

# The functions declared: the first dal_NAME followed by "(" (or "[" or
# ";", for data) in the declaration after an availability macro, or the
# _get_type() function of a G_DECLARE_*_TYPE() after one.  Headers
# of the source tree and generated ones of the build tree.
declared=$(
    for h in "$srcdir"/include/dal/*.h "$builddir"/include/dal/*.h; do
        if [[ -f $h ]]; then cat "$h"; fi
    done | awk '
        /^[ \t]*DAL_(AVAILABLE|DEPRECATED)_IN_/ {
            on = 1; decl = ""
            sub(/^[ \t]*DAL_[A-Z0-9_]+(\([^)]*\))?/, "")
        }
        # G_DECLARE_FINAL_TYPE (DalPool, dal_pool, ...) declares
        # dal_pool_get_type().
        on && /G_DECLARE_[A-Z_]*TYPE[ \t]*\(/ {
            on = 0
            d = $0
            sub(/^[^(]*\([^,]*,[ \t]*/, "", d)
            sub(/[ \t]*,.*$/, "", d)
            print d "_get_type"
            next
        }
        on {
            decl = decl " " $0
            if (index($0, ";")) {
                on = 0
                if (match(decl, /dal_[a-z0-9_]+[ \t]*[(\[;]/)) {
                    name = substr(decl, RSTART, RLENGTH)
                    sub(/[ \t]*[(\[;]$/, "", name)
                    print name
                } else
                    print "UNPARSED:" decl
            }
        }' | sort -u
)
# name@@VERSION of each symbol the library defines and exports (the
# version node itself is an absolute symbol named after it).
exported=$(readelf --dyn-syms -W "$lib" |
    awk '$5 ~ /GLOBAL|WEAK/ && $7 != "UND" && $7 != "ABS" { print $8 }' | sort -u)
names=$(sed 's/@.*//' <<<"$exported" | sort -u)

count=$(grep -c . <<<"$declared" || true)
if ((count >= 100)) && ! grep -q '^UNPARSED:' <<<"$declared"; then
    ok "the headers declare $count functions"
else
    not_ok "the headers declare $count functions (expected 100 or more, all parsed)"
    grep '^UNPARSED:' <<<"$declared" | sed 's/^/# /' || true
fi
check "every exported symbol has the version $version" \
    "$(grep -v "@@$version\$" <<<"$exported" || true)"
check "no _dal_ internal is exported" "$(grep '^_dal_' <<<"$names" || true)"
check "every exported symbol is declared in include/dal/*.h" \
    "$(comm -23 <(echo "$names") <(echo "$declared"))"
check "every function declared in include/dal/*.h is exported" \
    "$(comm -13 <(echo "$names") <(echo "$declared"))"

soname() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p'; }
if [[ $(soname "$lib") == libdal-1.so.0 && -f $internal && $(soname "$internal") == libdal-1.so.0 ]]; then
    ok "core/ and tests/internal/ libdal-1.so both have the soname libdal-1.so.0"
else
    not_ok "sonames: core/: '$(soname "$lib")', tests/internal/: '$( [[ -f $internal ]] && soname "$internal")' (expected libdal-1.so.0)"
fi
internal_syms=$(readelf --dyn-syms -W "$internal" | awk '$7 != "UND" { print $8 }')
if grep -q "^_dal_.*@@$version\$" <<<"$internal_syms"; then
    ok "tests/internal/libdal-1.so exports the _dal_ internals"
else
    not_ok "tests/internal/libdal-1.so exports no _dal_ internal"
fi
exit "$failed"
