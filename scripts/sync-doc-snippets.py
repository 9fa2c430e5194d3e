#!/usr/bin/env python3
"""Copy the example DAG snippets into the Markdown docs, so the docs show code that really runs.

A snippet in a Markdown file looks like this::

    <!-- snippet: example_dags/example_hadoop_eco_hive.py howto_operator_hadoop_eco_create_hive -->
    ```python
    ...the code between "# [START howto_...]" and "# [END howto_...]" in that file, dedented...
    ```
    <!-- end snippet -->

Usage::

    scripts/sync-doc-snippets.py            # rewrite the code blocks in README.md and docs/*.md
    scripts/sync-doc-snippets.py --check    # only report drift; exit 1 if a block differs

``tests/docs/test_docs.py`` runs the same comparison, so a changed example DAG fails the tests until the docs
are regenerated.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SNIPPET = re.compile(
    r"(?P<open><!-- snippet: (?P<source>\S+) (?P<name>\S+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- end snippet -->)",
    re.DOTALL,
)
START = "# [START {name}]"
END = "# [END {name}]"


class SnippetError(Exception):
    """A marker is missing, duplicated or malformed."""


@dataclass(frozen=True)
class Snippet:
    """One marked code block in a Markdown file."""

    doc: Path
    source: str
    name: str
    body: str
    line: int

    def where(self) -> str:
        """``docs/operators.md:12 (example_dags/x.py howto_y)``."""
        return f"{_rel(self.doc)}:{self.line} ({self.source} {self.name})"


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def doc_files(repo: Path = REPO) -> list[Path]:
    """README.md and every Markdown file under docs/."""
    files = [repo / "README.md"] if (repo / "README.md").exists() else []
    return files + sorted((repo / "docs").rglob("*.md"))


def extract_example(source: Path, name: str) -> str:
    """The dedented lines between ``# [START name]`` and ``# [END name]`` of ``source``."""
    lines = source.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == START.format(name=name)]
    ends = [i for i, line in enumerate(lines) if line.strip() == END.format(name=name)]
    if len(starts) != 1 or len(ends) != 1:
        raise SnippetError(
            f"{_rel(source)}: expected one '{START.format(name=name)}' and one '{END.format(name=name)}', "
            f"found {len(starts)} and {len(ends)}"
        )
    if ends[0] <= starts[0] + 1:
        raise SnippetError(f"{_rel(source)}: snippet {name!r} is empty or its END comes before its START")
    return textwrap.dedent("\n".join(lines[starts[0] + 1 : ends[0]])).strip("\n") + "\n"


def example_names(source: Path) -> list[str]:
    """Every snippet name marked with ``# [START ...]`` in ``source``."""
    return re.findall(r"^\s*# \[START (\S+)\]\s*$", source.read_text(), re.M)


def render(code: str) -> str:
    """The Markdown block for a snippet's code."""
    return f"```python\n{code}```\n"


def find_snippets(doc: Path) -> list[Snippet]:
    """The marked snippets of one Markdown file."""
    text = doc.read_text()
    found = []
    for match in SNIPPET.finditer(text):
        body_start = match.start("body")
        found.append(
            Snippet(
                doc=doc,
                source=match["source"],
                name=match["name"],
                body=match["body"],
                line=text.count("\n", 0, body_start) + 1,
            )
        )
    opened = text.count("<!-- snippet:")
    if opened != len(found) or text.count("<!-- end snippet -->") != len(found):
        raise SnippetError(f"{_rel(doc)}: unbalanced snippet markers")
    return found


def expected_body(snippet: Snippet, repo: Path = REPO) -> str:
    """What the block of ``snippet`` must contain, taken from its example DAG."""
    source = repo / snippet.source
    if not source.is_file():
        raise SnippetError(f"{snippet.where()}: {snippet.source} does not exist")
    return render(extract_example(source, snippet.name))


def sync_text(text: str, repo: Path = REPO) -> str:
    """``text`` with every marked snippet block regenerated from its example DAG."""

    def replace(match: re.Match[str]) -> str:
        source = repo / match["source"]
        if not source.is_file():
            raise SnippetError(f"snippet source {match['source']} does not exist")
        return match["open"] + render(extract_example(source, match["name"])) + match["close"]

    return SNIPPET.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with ``--check``, verify) the snippet blocks; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report drift and exit 1 instead of rewriting")
    parser.add_argument(
        "files", nargs="*", type=Path, help="Markdown files (default: README.md, docs/**/*.md)"
    )
    args = parser.parse_args(argv)
    files = [f.resolve() for f in args.files] or doc_files()
    drift = 0
    try:
        for doc in files:
            find_snippets(doc)  # validates the markers
            text = doc.read_text()
            new = sync_text(text)
            if new == text:
                continue
            drift += 1
            if args.check:
                diff = difflib.unified_diff(
                    text.splitlines(True), new.splitlines(True), f"{_rel(doc)} (now)", f"{_rel(doc)} (synced)"
                )
                sys.stdout.writelines(diff)
            else:
                doc.write_text(new)
                print(f"updated {_rel(doc)}")
    except SnippetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check and drift:
        print(f"{drift} file(s) out of date: run scripts/sync-doc-snippets.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
