"""Every document the repository cites is in the repository.

Checked in README.md, docs/, pysim/ and configs/: relative markdown links, paths and names
of markdown files (``docs/hw-spec.md``, ``fixed-point.md``), and section citations
(``docs/fixed-point.md §8``: the cited file has a heading ``## 8.``).
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"sim_build", "out", "build", "node_modules"}
LINK = re.compile(r"\]\(([^)\s]+)\)")
MD_NAME = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
SECTION = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.md)`?\s*§\s*(\d+)")
# Files that commands write, named in their help and docstrings: not repository files.
OUTPUTS = {"table.md", "crossover.md"}
# Cited, but not in the repository: each is a known dangling reference. The test fails
# when one is no longer cited, so that this list only shrinks. It is empty: the seed's
# method and the energy sources are in docs/seed.md and docs/energy-sources.md.
KNOWN_OUTSIDE: set[str] = set()


def _files() -> list[Path]:
    out = [ROOT / "README.md"]
    for folder, pattern in (("docs", "*.md"), ("pysim", "*.py"), ("configs", "*.yaml")):
        out += sorted((ROOT / folder).rglob(pattern))
    return [p for p in out if not SKIP_DIRS & set(p.relative_to(ROOT).parts)]


def _markdown_names() -> set[str]:
    return {p.name for p in ROOT.rglob("*.md")
            if not any(part.startswith(".") or part in SKIP_DIRS
                       for part in p.relative_to(ROOT).parts)}


def _resolve(ref: str, source: Path) -> Path | None:
    for base in (source.parent, ROOT):
        if (base / ref).exists():
            return (base / ref).resolve()
    return None


def test_cited_documents_are_in_the_repository():
    names = _markdown_names()
    missing, outside = [], set()
    for path in _files():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        if path.suffix == ".md":
            for target in LINK.findall(text):
                if re.match(r"[a-z]+:|#", target):
                    continue
                if _resolve(target.split("#")[0], path) is None:
                    missing.append(f"{where}: link ({target})")
        for ref in MD_NAME.findall(text):
            name = Path(ref).name
            if name in KNOWN_OUTSIDE:
                outside.add(name)
            elif ref.startswith("out/") or name in OUTPUTS:
                continue
            elif name not in names or ("/" in ref and _resolve(ref, path) is None):
                missing.append(f"{where}: {ref}")
    assert not missing, "cited but not in the repository:\n" + "\n".join(missing)
    assert outside == KNOWN_OUTSIDE, f"no longer cited, remove from KNOWN_OUTSIDE: " \
        f"{sorted(KNOWN_OUTSIDE - outside)}"


def test_cited_sections_exist():
    missing = []
    for path in _files():
        for ref, section in SECTION.findall(path.read_text(encoding="utf-8")):
            if Path(ref).name in KNOWN_OUTSIDE:
                continue
            target = _resolve(ref, path) or next(ROOT.rglob(Path(ref).name), None)
            if target is None:
                continue  # the first test names it
            headings = re.findall(r"^#+\s+(\d+)\.", target.read_text(encoding="utf-8"), re.M)
            if section not in headings:
                missing.append(f"{path.relative_to(ROOT)}: {ref} §{section}")
    assert not missing, "cited sections that do not exist:\n" + "\n".join(missing)
