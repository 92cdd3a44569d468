#!/usr/bin/python3
"""The layer check of `make test` (tools/test.sh): lib/LAYERS says which
layer every C file of lib/, fcgi/, jobs/, events/ and tools/ belongs to,
and this program checks that

  - every such file is named on exactly one layer line (a new file that is
    not fails, with the line to add it to);
  - every #include "..." names a file of the same layer or a lower one;
  - lib/db.h is included only by the files of the "db.h" line;
  - SQL text (string literals with SQL statements) and the database
    clients' headers appear only in the files of the "sql" and "sql-tool"
    lines;
  - every statement table of lib/store/ (const struct stmt_def
    store_*_stmts[]) is listed in lib/store/registry.c.

    tools/layers.py [ROOT]      prints each problem, exits 1 if any

Includes are resolved as the compiler does for -Ilib -I.: the including
file's directory first, then lib/, then the repository root.  The SQL
test looks at string literals only (comments are skipped), so prose that
mentions SELECT is not SQL; a literal counts as SQL when it holds a
statement's opening words in upper case (SELECT, INSERT INTO, UPDATE ...
SET, DELETE FROM, CREATE TABLE, GRANT, COMMIT, ...), which is how every
statement of this code base is written.
"""
import fnmatch
import os
import re
import sys

SCOPE = ("lib", "fcgi", "jobs", "events", "tools")
LAYERS_FILE = "lib/LAYERS"
RULES = ("db.h", "sql", "sql-tool")
CLIENT_HEADERS = ("mysql.h", "mysqld_error.h", "mysql/mysql.h",
                  "mariadb/mysql.h", "libpq-fe.h")
SQL_RE = re.compile(
    r"\b(SELECT\b|INSERT\s+INTO\b|REPLACE\s+INTO\b|UPDATE\s+`?\w+`?\s+SET\b"
    r"|DELETE\s+FROM\b|CREATE\s+(TABLE|INDEX|UNIQUE|USER|DATABASE|VIEW|"
    r"TRIGGER|FUNCTION|PROCEDURE)\b|ALTER\s+(TABLE|USER)\b"
    r"|DROP\s+(TABLE|INDEX|USER|DATABASE|VIEW|TRIGGER)\b|TRUNCATE\s+\w"
    r"|GRANT\s+\w|REVOKE\s+\w|START\s+TRANSACTION\b|COMMIT\b|ROLLBACK\b"
    r"|SAVEPOINT\b|LOCK\s+TABLES\b)")
INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^">]+)[">]', re.M)


def parse_layers(root):
    """Returns ([(layer, [entries])] in order, {rule: [entries]}, errors)."""
    layers, rules, errors = [], {}, []
    current = None
    path = os.path.join(root, LAYERS_FILE)
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            if line[0].isspace():
                if current is None:
                    errors.append(f"{LAYERS_FILE}:{n}: continuation line "
                                  "without a layer or rule before it")
                    continue
                current.extend(line.split())
                continue
            name, sep, rest = line.partition(":")
            if not sep or not name or " " in name:
                errors.append(f"{LAYERS_FILE}:{n}: expected 'NAME: ENTRY...'")
                current = None
                continue
            entries = rest.split()
            if name in RULES:
                current = rules.setdefault(name, [])
                current.extend(entries)
            elif any(name == l for l, _ in layers):
                errors.append(f"{LAYERS_FILE}:{n}: layer '{name}' twice")
                current = None
            else:
                layers.append((name, entries))
                current = entries
    return layers, rules, errors


def matches(entry, path):
    """Whether the LAYERS entry covers path (relative, with '/')."""
    if entry.endswith("/"):
        return path.startswith(entry)
    if any(c in entry for c in "*?["):
        return fnmatch.fnmatchcase(path, entry)
    if entry.endswith((".c", ".h")):
        return path == entry
    return path in (entry + ".c", entry + ".h")


def sources(root):
    out = []
    for top in SCOPE:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, name), root)
                               .replace(os.sep, "/"))
    return out


def strip_c(text):
    """Returns (code without comments and literals, [string literals]),
    with adjacent literals joined as the compiler joins them."""
    code, literals = [], []
    i, n = 0, len(text)
    last_was_literal = False
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            code.append(" ")
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'":
            j = i + 1
            buf = []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j:j + 2])
                    j += 2
                    continue
                if text[j] == "\n":
                    break
                buf.append(text[j])
                j += 1
            if c == '"':
                if last_was_literal:
                    literals[-1] += "".join(buf)
                else:
                    literals.append("".join(buf))
                last_was_literal = True
            code.append(c + c)
            i = j + 1
            continue
        if not c.isspace():
            last_was_literal = False
        code.append(c)
        i += 1
    return "".join(code), literals


def resolve(root, path, name):
    """The repository path an #include "name" in path reaches, or None."""
    for base in (os.path.dirname(path), "lib", ""):
        cand = os.path.normpath(os.path.join(base, name)).replace(os.sep, "/")
        if os.path.isfile(os.path.join(root, cand)):
            return cand
    return None


STMTS_RE = re.compile(r"^const struct stmt_def (store_\w+_stmts)\[\]", re.M)
REGISTRY = "lib/store/registry.c"


def unregistered_statements(root):
    """A statement table that lib/store/registry.c does not list is never
    prepared or checked against the tenant rule: its store's calls fail
    at run time instead of at start-up."""
    with open(os.path.join(root, REGISTRY), encoding="utf-8") as f:
        registry = f.read()
    listed = set(re.findall(r"^\s+(store_\w+_stmts),", registry, re.M))
    problems = []
    store = os.path.join(root, "lib", "store")
    for name in sorted(os.listdir(store)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(store, name), encoding="utf-8") as f:
            for table in STMTS_RE.findall(f.read()):
                if table not in listed:
                    problems.append(
                        f"lib/store/{name}: {table} is not listed in "
                        f"{REGISTRY}'s tables: its statements are never "
                        "prepared")
    return problems


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    layers, rules, problems = parse_layers(root)
    names = [l for l, _ in layers]
    rank = {l: i for i, l in enumerate(names)}
    files = sources(root)
    layer_of = {}
    used = set()
    for path in files:
        hits = [(l, e) for l, entries in layers for e in entries
                if matches(e, path)]
        used.update(e for _, e in hits)
        found = sorted({l for l, _ in hits}, key=rank.get)
        if not found:
            problems.append(
                f"{path}: in no layer: add it to its layer's line in "
                f"{LAYERS_FILE} ({', '.join(names)}; STYLE.md section 8)")
        elif len(found) > 1:
            problems.append(f"{path}: in several layers of {LAYERS_FILE}: "
                            f"{', '.join(found)}")
        else:
            layer_of[path] = found[0]
    for l, entries in layers:
        for e in entries:
            # A directory may be empty yet (events/ before its daemon).
            if e not in used and not e.endswith("/"):
                problems.append(f"{LAYERS_FILE}: '{e}' ({l}) names no file")
    for rule, entries in rules.items():
        for e in entries:
            if not any(matches(e, p) for p in files):
                problems.append(f"{LAYERS_FILE}: '{e}' ({rule}) names no file")

    def allowed(rule, path):
        return any(matches(e, path) for e in rules.get(rule, []))

    for path in files:
        with open(os.path.join(root, path), encoding="utf-8",
                  errors="replace") as f:
            text = f.read()
        code, literals = strip_c(text)
        may_sql = allowed("sql", path) or allowed("sql-tool", path)
        for m in INCLUDE_RE.finditer(text):
            kind, name = m.group(1), m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path}:{line}"
            if kind == "<":
                if name in CLIENT_HEADERS and not may_sql:
                    problems.append(
                        f"{where}: includes <{name}>: only the files of "
                        f"the sql lines of {LAYERS_FILE} talk to the "
                        "database; call a store_*() function instead")
                continue
            target = resolve(root, path, name)
            if target is None:
                problems.append(f"{where}: #include \"{name}\" finds no file")
                continue
            if target == "lib/db.h" and not allowed("db.h", path):
                problems.append(
                    f"{where}: includes lib/db.h, which only the files of "
                    f"the db.h line of {LAYERS_FILE} may: include tdb.h "
                    "and the store's header instead")
            mine, theirs = layer_of.get(path), layer_of.get(target)
            if mine is None or theirs is None:
                continue
            if rank[theirs] > rank[mine]:
                problems.append(
                    f"{where}: {mine} file includes \"{name}\" of the "
                    f"higher layer {theirs} ({LAYERS_FILE}): move the code "
                    "it needs down, or this file up")
        if not may_sql:
            for lit in literals:
                m = SQL_RE.search(lit)
                if m:
                    problems.append(
                        f"{path}: holds SQL (\"{lit[:60]}\"): SQL lives in "
                        "lib/store/ (a statement table, lib/db.h) and "
                        f"nowhere else ({LAYERS_FILE}, sql lines)")
                    break
    problems += unregistered_statements(root)
    for p in problems:
        print("layers: " + p)
    print(f"layers: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
