#!/usr/bin/env python3
"""doc-coverage.py: fail on a public symbol of libdal's headers without a
complete doc comment where it is declared.

    tests/doc-coverage.py [--skip HEADER]... [HEADER...]

With no HEADER, checks every include/dal/*.h and *.h.in of the source tree
this script lives in (a header generated from a .in file is checked as
that file; one generated from a .template is left to gi-docgen check).  --skip leaves a header out (by file name, e.g.
dal-pool.h), for working on one header at a time; make check skips none.

What counts as public, and what its doc comment (gtk-doc / gi-docgen
syntax: "/**", " * NAME:", "@param:" lines, tags) must hold:

  - a function declared after DAL_AVAILABLE_IN_* or DAL_DEPRECATED_IN_*:
    a block named after it, an "@p:" line for each parameter (and
    "@...:" for varargs), "Returns:" unless it returns void, "Since:";
  - a typedef (struct, enum, opaque struct, callback, other): a block
    named after it with "Since:"; a struct's block has an "@f:" line for
    each field (function-pointer slots included; fields after
    /*< private >*/ until /*< public >*/ are left out, as gtk-doc does),
    an enum's an "@V:" line for each value, a callback's as a
    function's.  An opaque struct declared in several headers is
    documented in the first of them by name;
  - a type declared with G_DECLARE_*_TYPE: a block named after it with
    "Since:";
  - a #define whose name does not start with "_" (include guards and
    DAL_H_INSIDE aside): a block named after it, with an "@p:" line for
    each parameter of a function-like macro.

A block's "@name:" line that names nothing of the symbol is an error too
(what gi-docgen calls an unknown parameter).  Each offender is printed as
"FILE:LINE: SYMBOL: what is missing"; the output is TAP (one test per
header), the exit status 1 when anything is missing.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

MARKER = re.compile(r"\bDAL_(?:AVAILABLE_IN_\w+|DEPRECATED_IN_\w+)\b(?:\s*\([^)]*\))?")
DOC_BLOCK = re.compile(r"/\*\*(?!\*)(.*?)\*/", re.S)
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
TAG = re.compile(r"^(Returns|Return value|Since|Deprecated|Stability)\s*:", re.I)
PARAM = re.compile(r"^@([A-Za-z_][\w]*|\.\.\.)\s*:")
IDENT = re.compile(r"[A-Za-z_]\w*")
IGNORED_MACROS = {"DAL_H_INSIDE"}


class Block:
    def __init__(self, name, line, params, tags, has_text):
        self.name = name
        self.line = line
        self.params = params      # names of @param: lines, in order
        self.tags = tags          # lower-case tag names (returns, since, ...)
        self.has_text = has_text  # a description beyond the name line


def parse_blocks(text):
    """Every /** NAME: ... */ block of @text, by name."""
    blocks = {}
    for m in DOC_BLOCK.finditer(text):
        lines = [re.sub(r"^\s*\*? ?", "", l).rstrip()
                 for l in m.group(1).split("\n")]
        lines = [l for l in lines]
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        head = re.match(r"^\s*([A-Za-z_]\w*)\s*:", lines[0])
        if not head:
            continue
        name = head.group(1)
        params, tags, has_text = [], set(), False
        for l in lines[1:]:
            s = l.strip()
            p = PARAM.match(s)
            t = TAG.match(s)
            if p:
                params.append(p.group(1))
            elif t:
                tags.add(t.group(1).lower().replace("return value", "returns"))
            elif s:
                has_text = True
        line = text.count("\n", 0, m.start()) + 1
        blocks[name] = Block(name, line, params, tags, has_text)
    return blocks


PRIVATE_MARK = re.compile(r"/\*<\s*(private|public)\s*>\*/")


def strip_comments(text):
    """@text without comments, newlines kept so that line numbers hold;
    gtk-doc's /*< private >*/ and /*< public >*/ become the pseudo-fields
    __private__ and __public__."""
    text = PRIVATE_MARK.sub(lambda m: "__%s__;" % m.group(1), text)
    return COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def split_top(s, sep=","):
    """@s split at @sep outside brackets."""
    out, depth, cur = [], 0, ""
    for c in s:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return out


def param_names(plist):
    """The parameter names of a C parameter list (without its parentheses)."""
    names = []
    plist = plist.strip()
    if plist in ("", "void"):
        return names
    for p in split_top(plist):
        p = p.strip()
        if p == "...":
            names.append("...")
            continue
        fp = re.search(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)", p)
        if fp:
            names.append(fp.group(1))
            continue
        p = re.sub(r"\[[^\]]*\]", "", p)
        ids = IDENT.findall(p)
        if ids:
            names.append(ids[-1])
    return names


def returns_void(rtype):
    rtype = re.sub(r"\bconst\b|\bG_GNUC_\w+\b", "", rtype).strip()
    return rtype == "void"


class Checker:
    def __init__(self, opaque_owner):
        self.problems = []
        # opaque type name -> the header that documents it
        self.opaque_owner = opaque_owner

    def report(self, path, line, name, what):
        self.problems.append("%s:%d: %s: %s" % (path, line, name, what))

    def need_block(self, path, blocks, name, line):
        b = blocks.get(name)
        if b is None:
            self.report(path, line, name, "no doc comment (/** %s: ... */)" % name)
        return b

    def check_params(self, path, b, expected, what):
        for p in expected:
            if p not in b.params:
                self.report(path, b.line, b.name,
                            "no @%s: line for %s %s" % (p, what, p))
        for p in b.params:
            if p not in expected:
                self.report(path, b.line, b.name,
                            "@%s: names no %s of %s" % (p, what, b.name))

    def check_since(self, path, b):
        if "since" not in b.tags:
            self.report(path, b.line, b.name, "no Since: line")

    def check_function(self, path, blocks, name, line, rtype, plist):
        b = self.need_block(path, blocks, name, line)
        if not b:
            return
        self.check_params(path, b, param_names(plist), "parameter")
        if not returns_void(rtype) and "returns" not in b.tags:
            self.report(path, b.line, name, "no Returns: line (it returns %s)"
                        % " ".join(rtype.split()))
        if returns_void(rtype) and "returns" in b.tags:
            self.report(path, b.line, name, "a Returns: line, but it returns void")
        if not b.has_text and not b.params and "returns" not in b.tags:
            self.report(path, b.line, name, "an empty doc comment")
        self.check_since(path, b)

    def check_header(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        blocks = parse_blocks(text)
        code = strip_comments(text)
        lineno = lambda pos: code.count("\n", 0, pos) + 1

        # Include guard: #ifndef X / #define X as the first directives.
        guard = None
        g = re.search(r"^\s*#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b", code, re.M)
        if g:
            guard = g.group(1)

        # Macros.
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\(([^)]*)\))?",
                             code, re.M):
            name = m.group(1)
            if name.startswith("_") or name == guard or name in IGNORED_MACROS:
                continue
            b = self.need_block(path, blocks, name, lineno(m.start()))
            if b is None:
                continue
            if m.group(2):
                self.check_params(path, b, param_names(m.group(3)), "parameter")
            elif b.params:
                self.check_params(path, b, [], "parameter")
            if not b.has_text:
                self.report(path, b.line, name, "an empty doc comment")

        # Drop preprocessor lines (continuations included) from the code.
        code_np = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)),
                         code, flags=re.M)

        # Functions: a marker, then a declaration up to ';'.
        for m in MARKER.finditer(code_np):
            end = code_np.index(";", m.end())
            decl = code_np[m.end():end]
            decl = re.sub(r"\bG_GNUC_\w+\b(\s*\([^)]*\))?|\bG_\w*ATTRIBUTE\w*\b(\s*\([^)]*\))?", "", decl)
            gd = re.match(r"\s*G_DECLARE_\w+_TYPE\s*\(\s*(\w+)", decl)
            if gd:
                # G_DECLARE_FINAL_TYPE (DalConnection, ...): the type's block.
                b = self.need_block(path, blocks, gd.group(1), lineno(m.start()))
                if b:
                    if not b.has_text:
                        self.report(path, b.line, b.name, "an empty doc comment")
                    self.check_since(path, b)
                continue
            fm = re.match(r"(.*?)\b([A-Za-z_]\w*)\s*\((.*)\)\s*$", decl.strip(), re.S)
            if not fm:
                self.report(path, lineno(m.start()), decl.strip()[:40],
                            "cannot read this declaration")
                continue
            self.check_function(path, blocks, fm.group(2), lineno(m.start()),
                                fm.group(1), fm.group(3))

        # Typedefs.
        for m in re.finditer(r"\btypedef\b", code_np):
            end = m.end()
            depth = 0
            while True:
                c = code_np[end]
                if c in "{(":
                    depth += 1
                elif c in "})":
                    depth -= 1
                elif c == ";" and depth == 0:
                    break
                end += 1
            decl = code_np[m.end():end].strip()
            line = lineno(m.start())
            body = re.match(r"(struct|enum|union)\s*(\w+)?\s*\{(.*)\}\s*([A-Za-z_]\w*)$", decl, re.S)
            cb = re.match(r"(.*?)\(\s*\*\s*([A-Za-z_]\w*)\s*\)\s*\((.*)\)$", decl, re.S)
            if body:
                kind, name = body.group(1), body.group(4)
                b = self.need_block(path, blocks, name, line)
                if not b:
                    continue
                if kind == "enum":
                    values = [IDENT.match(v.strip()).group(0)
                              for v in split_top(body.group(3)) if v.strip()]
                    self.check_params(path, b, values, "value")
                else:
                    fields = []
                    private = False
                    for f in split_top(body.group(3), ";"):
                        f = f.strip()
                        if f in ("__private__", "__public__"):
                            private = f == "__private__"
                            continue
                        if not f or private:
                            continue
                        fp = re.search(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)\s*\(", f)
                        if fp:
                            fields.append(fp.group(1))
                            continue
                        for part in split_top(f):
                            ids = IDENT.findall(re.sub(r"\[[^\]]*\]|:\s*\d+", "", part))
                            if ids:
                                fields.append(ids[-1])
                    self.check_params(path, b, fields, "field")
                self.check_since(path, b)
            elif cb:
                self.check_function(path, blocks, cb.group(2), line,
                                    cb.group(1), cb.group(3))
            else:
                ids = IDENT.findall(decl)
                if not ids:
                    continue
                name = ids[-1]
                # An opaque type declared in several headers (as
                # DalBatchResult in dal-batch.h and dal-plugin.h) is
                # documented once, in the first of them by name.
                owner = self.opaque_owner.get(name)
                if (name not in blocks and re.match(r"struct\s+_?\w+\s+\w+$", decl)
                        and owner is not None and owner != os.path.basename(path)):
                    continue
                b = self.need_block(path, blocks, name, line)
                if b:
                    if not b.has_text:
                        self.report(path, b.line, name, "an empty doc comment")
                    self.check_since(path, b)


def main(argv):
    skip = set()
    headers = []
    args = argv[1:]
    while args:
        a = args.pop(0)
        if a == "--skip" and args:
            skip.add(os.path.basename(args.pop(0)))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            headers.append(a)
    if not headers:
        inc = os.path.join(TOP, "include", "dal")
        names = os.listdir(inc)
        # A generated header is checked as its source (dal-version.h as
        # dal-version.h.in); one made from a template (glib-mkenums) is
        # left to gi-docgen check on the GIR.
        headers = sorted(os.path.join(inc, f) for f in names
                         if (f.endswith(".h") and f + ".in" not in names
                             and f + ".template" not in names)
                         or f.endswith(".h.in"))
    # Opaque types declared in include/dal, skipped headers too: the first
    # header by name that declares one documents it.
    inc = os.path.join(TOP, "include", "dal")
    opaque_owner = {}
    for f in sorted(os.listdir(inc)):
        if f.endswith(".h") or f.endswith(".h.in"):
            with open(os.path.join(inc, f), encoding="utf-8") as fh:
                code = strip_comments(fh.read())
            for m in re.finditer(r"\btypedef\s+struct\s+_?\w+\s+(\w+)\s*;", code):
                opaque_owner.setdefault(m.group(1), f)
    print("1..%d" % len(headers))
    failed = 0
    for i, h in enumerate(headers, 1):
        rel = os.path.relpath(h, TOP)
        if os.path.basename(h) in skip:
            print("ok %d - %s # SKIP left out (--skip)" % (i, rel))
            continue
        c = Checker(opaque_owner)
        c.check_header(h)
        if c.problems:
            failed += 1
            print("not ok %d - %s: %d undocumented" % (i, rel, len(c.problems)))
            for p in c.problems:
                print("# " + p.replace(h, rel))
        else:
            print("ok %d - %s" % (i, rel))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
