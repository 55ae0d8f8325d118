"""Every link between the README, the project files and docs/ leads somewhere: the file exists and, for a
link to a section, so does the heading (as GitHub makes anchors of headings). And every page of docs/ can
be reached from the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        *(REPO_ROOT / name for name in ("README.md", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md")),
        *(REPO_ROOT / "docs").glob("*.md"),
    ]
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def prose(page: Path) -> str:
    """The page without its code blocks and inline code (a `[x](y)` there is not a link)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", page.read_text(encoding="utf-8")))


def anchors(page: Path) -> set[str]:
    """GitHub's anchors: each heading lower-cased, punctuation dropped, spaces made hyphens."""
    found: set[str] = set()
    for heading in re.findall(
        r"^#{1,6}\s+(.+?)\s*#*$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M
    ):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def local_links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page)) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_link_leads_somewhere(page: Path) -> None:
    broken = []
    for target in local_links(page):
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no such heading in {destination.relative_to(REPO_ROOT)}")
    assert broken == [], f"{page.relative_to(REPO_ROOT)}: {broken}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {
        (REPO_ROOT / target.partition("#")[0]).resolve() for target in local_links(REPO_ROOT / "README.md")
    }
    orphans = [page.name for page in (REPO_ROOT / "docs").glob("*.md") if page.resolve() not in linked]
    assert orphans == []


def test_the_anchors_are_githubs() -> None:
    page = REPO_ROOT / "README.md"
    assert {"two-commands-on-a-fresh-machine", "bootstrap-once-per-account-and-region"} <= anchors(page)
