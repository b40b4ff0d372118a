#!/usr/bin/env python3
"""Fails when a reference to docs/ points nowhere.

docs/ is the one reference (docs/architecture.md), so code comments cite its sections, as
`docs/balancing.md, "Panic mode"` or `docs/balancing.md#panic-mode`, and the pages link to
each other. This checks, in every file of the repository (docs, code, tests, deploy, helm), that
each cited page exists and has the cited section: a heading whose text (backticks left
out) starts with the quoted words, or whose GitHub anchor is the one after '#'. Markdown
links between pages (`[x](balancing.md#panic-mode)`) are checked the same way.
"""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXT = {".cc", ".h", ".py", ".md", ".txt", ".cmake", ".sh", ".toml", ".yaml", ".yml", ".tpl"}
# A page of docs/, then optionally `, "Section"` or `#anchor`.
CITATION = re.compile(r'(?<![\w/.])docs/([\w-]+\.md)(?:#([\w-]+)|, "([^"]+)")?')
# [text](relative/page.md#anchor) in Markdown
LINK = re.compile(r"\]\(([\w./-]*\.md)?(?:#([\w-]+))?\)")


def headings(page):
    out = []
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            out.append(line.lstrip("#").strip().replace("`", ""))
    return out


def anchor(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def problem(page, section, slug):
    if not page.is_file():
        return f"no such page {page.relative_to(ROOT)}"
    titles = headings(page)
    if section and not any(t.startswith(section) for t in titles):
        return f'{page.relative_to(ROOT)} has no section "{section}"'
    if slug and slug not in {anchor(t) for t in titles}:
        return f"{page.relative_to(ROOT)} has no section #{slug}"
    return None


def repository_files():
    """The files git knows (tracked or new, not ignored); every file outside build trees
    when this is not a git checkout."""
    try:
        return subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                              cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".tools", "build", "node_modules"}
        return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                if not skip.intersection(p.relative_to(ROOT).parts)]


def main():
    files = repository_files()
    problems = []
    for name in files:
        path = ROOT / name
        if path.suffix not in TEXT or not path.is_file() or "fuzz/corpus" in name:
            continue
        for no, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for m in CITATION.finditer(line):
                why = problem(ROOT / "docs" / m[1], m[3], m[2])
                if why:
                    problems.append(f"{name}:{no}: {why}")
            if path.suffix != ".md":
                continue
            for m in LINK.finditer(line):
                if m[1] is None and m[2] is None:
                    continue
                target = (path.parent / m[1]).resolve() if m[1] else path
                if m[1] and m[1].startswith(("http:", "https:")):
                    continue
                why = problem(target, None, m[2])
                if why:
                    problems.append(f"{name}:{no}: {why}")
    for p in problems:
        print(p)
    print(f"{len(problems)} broken reference(s) to docs/" if problems
          else "every docs/ reference resolves")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
