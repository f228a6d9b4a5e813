"""The README and the guides in docs/ link only to what exists, and every guide can be found and navigated.

A relative link must name an existing file or directory; a `#fragment` into a markdown file must
match one of its headings (GitHub's slug) or an explicit `<a id="...">`. External links (http, https,
mailto) are not fetched: the tests run offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
EXTERNAL = ("http://", "https://", "mailto:")


def guides() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _prose(text: str) -> str:
    """The text without fenced code blocks, where `#` starts a comment rather than a heading."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def headings(text: str, level: int | None = None) -> list[tuple[int, str]]:
    return [(len(hashes), title) for hashes, title in HEADING.findall(_prose(text))
            if level is None or len(hashes) == level]


def anchors(text: str) -> set[str]:
    """Every fragment a link may name in this text: heading slugs (with GitHub's -1, -2 for repeats) and ids."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, title in headings(text):
        base = slug(title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found | set(ANCHOR.findall(INLINE_CODE.sub("", _prose(text))))


def links(text: str) -> list[str]:
    return LINK.findall(INLINE_CODE.sub("", _prose(text)))


def broken_links(source: Path, text: str | None = None) -> list[str]:
    """Each relative link of `source` that names a missing file or a fragment its target lacks."""
    text = source.read_text() if text is None else text
    problems = []
    for target in links(text):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, fragment = target.partition("#")
        if not path_part:  # a fragment of this very text
            if fragment not in anchors(text):
                problems.append(f"{source.relative_to(ROOT)}: link to {target}: no heading or anchor #{fragment}")
            continue
        resolved = (source.parent / path_part).resolve()
        if not resolved.exists():
            problems.append(f"{source.relative_to(ROOT)}: link to {target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text()):
            problems.append(f"{source.relative_to(ROOT)}: link to {target}: "
                            f"{resolved.relative_to(ROOT)} has no heading or anchor #{fragment}")
    return problems


def _all(items: Iterable[list[str]]) -> list[str]:
    return [problem for group in items for problem in group]


def test_every_relative_link_resolves():
    problems = _all(broken_links(path) for path in [README, *guides()])
    assert not problems, "\n".join(problems)


def test_the_checker_catches_broken_links_and_fragments():
    text = "\n".join([
        "# Title",
        "## Real heading, with `code` (and punctuation)",
        '<a id="alert-kept"></a>',
        "[ok](#real-heading-with-code-and-punctuation) [ok](#alert-kept) [ok](README.md) [ok](docs/)",
        "[ok](https://example.org/missing.md) [ok](docs/operating.md#runbook)",
        "[bad](missing-file.md) [bad](#no-such-heading) [bad](docs/operating.md#no-such-section)",
        "```sh",
        "# a comment, not a heading; [inside](code-fence.md) is not a link",
        "```",
        "`[inline](code.md)` is not a link either, nor is `<a id=\"in-code\">` an anchor: [bad](#in-code)",
    ])
    problems = broken_links(ROOT / "synthetic.md", text)
    assert len(problems) == 4, problems
    assert any("missing-file.md: no such file" in p for p in problems)
    assert any("#no-such-heading" in p for p in problems)
    assert any("#in-code" in p for p in problems)
    assert any("docs/operating.md has no heading or anchor #no-such-section" in p for p in problems)


def test_slugs_follow_github():
    assert slug("Aria Automation (optional)") == "aria-automation-optional"
    assert slug("Secrets and `pulumi up`") == "secrets-and-pulumi-up"
    assert slug("The design document's cost arithmetic") == "the-design-documents-cost-arithmetic"
    assert anchors("## Notes\n## Notes\n") == {"notes", "notes-1"}


def test_every_guide_is_linked_from_the_readme():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README.read_text())}
    missing = [str(guide.relative_to(ROOT)) for guide in guides() if guide.resolve() not in linked]
    assert guides(), "docs/ holds no guide"
    assert not missing, f"README.md does not link to {missing}"


def test_every_guide_has_a_title_and_a_table_of_contents():
    for guide in guides():
        text = guide.read_text()
        name = guide.relative_to(ROOT)
        assert text.startswith("# "), f"{name} does not start with a title"
        sections = [slug(title) for _, title in headings(text, level=2)]
        assert sections, f"{name} has no `##` sections"
        # The table of contents is the part before the first section, and links to every section.
        first = _prose(text).index("\n## ")
        contents = set(links(_prose(text)[:first]))
        missing = [s for s in sections if f"#{s}" not in contents]
        assert not missing, f"{name}: the table of contents does not link to {missing}"
