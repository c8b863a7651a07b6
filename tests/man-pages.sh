#!/usr/bin/env bash
# man-pages.sh: man/dal.1 and man/dal.conf.5 render without a warning
# (man --warnings, as `man dal` would show them), dal.1 covers every
# subcommand `dal --help` lists and every option of `dal query --help`.
# TAP on stdout; skipped without man.
set -uo pipefail

src=${srcdir:-.}
if ! command -v man >/dev/null 2>&1; then
    echo "1..0 # SKIP man is not installed (scripts/deps man-db)"
    exit 0
fi
tool=${DAL_TEST_TOOL:-}

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }

for page in man/dal.1 man/dal.conf.5; do
    warnings=$(LC_ALL=C MANWIDTH=80 man --warnings -l "$src/$page" 2>&1 >/dev/null)
    if [[ -z $warnings ]]; then
        ok "$page renders without warnings"
    else
        not_ok "$page renders without warnings"
        printf '# %s\n' "$warnings"
    fi
done

if [[ -n $tool ]]; then
    text=$(LC_ALL=C MANWIDTH=200 man -l "$src/man/dal.1" 2>/dev/null)
    # "  NAME     ARGS" lines after "commands:"
    commands=$("$tool" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
    [[ -n $commands ]] || not_ok "dal --help lists commands"
    for c in $commands; do
        if grep -q "^ *dal $c\b" <<<"$text"; then ok "dal.1 shows dal $c"; else not_ok "dal.1 shows dal $c"; fi
    done
    for o in $("$tool" query --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        [[ $o == --help* ]] && continue
        if grep -q -- "$o" <<<"$text"; then ok "dal.1 mentions dal query $o"; else not_ok "dal.1 mentions dal query $o"; fi
    done
fi
echo "1..$n"
