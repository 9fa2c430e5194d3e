"""The docs cannot drift from the code, and have no broken links.

* Every code block marked ``<!-- snippet: <file> <name> -->`` in README.md and docs/*.md equals the code
  between ``# [START <name>]`` and ``# [END <name>]`` of that example DAG (regenerate them with
  scripts/sync-doc-snippets.py).
* Every relative link and image in README.md and docs/*.md points to an existing file, and every ``#anchor``
  to an existing heading (GitHub's anchor rules).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from airflow_harness import REPO

DOCS = REPO / "docs"
SCRIPT = REPO / "scripts" / "sync-doc-snippets.py"
# The how-to snippets the operator guide must show (they exist in the example DAGs).
REQUIRED_SNIPPETS = {
    "howto_operator_hadoop_eco_create_hive",
    "howto_sensor_hadoop_eco_request_deferrable",
    "howto_operator_hadoop_eco_create_spark",
}


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_doc_snippets", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


sync = _load_script()


def markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


# --- snippets ---------------------------------------------------------------------------------------------


def all_snippets() -> list:
    return [s for doc in markdown_files() if doc.exists() for s in sync.find_snippets(doc)]


def test_readme_exists() -> None:
    assert (REPO / "README.md").is_file()


def test_operator_guide_shows_the_howto_snippets() -> None:
    documented = {s.name for s in sync.find_snippets(DOCS / "operators.md")}
    assert documented >= REQUIRED_SNIPPETS, REQUIRED_SNIPPETS - documented


@pytest.mark.parametrize("snippet", all_snippets(), ids=lambda s: f"{s.doc.name}:{s.name}")
def test_snippet_matches_example_dag(snippet) -> None:
    expected = sync.expected_body(snippet)
    assert snippet.body == expected, (
        f"{snippet.where()} differs from the example DAG; run scripts/sync-doc-snippets.py\n"
        f"--- docs ---\n{snippet.body}--- example ---\n{expected}"
    )


def test_example_dag_markers_exist_for_the_required_snippets() -> None:
    names = {n for dag in (REPO / "example_dags").glob("*.py") for n in sync.example_names(dag)}
    assert names >= REQUIRED_SNIPPETS, REQUIRED_SNIPPETS - names


def test_sync_script_reports_and_fixes_drift(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(
        "# Page\n\n"
        "<!-- snippet: example_dags/example_hadoop_eco_hive.py howto_operator_hadoop_eco_create_hive -->\n"
        "```python\nrun_hive_job = HadoopEcoCreateClusterOperator(task_id='stale')\n```\n"
        "<!-- end snippet -->\n\nText after.\n"
    )
    assert sync.main(["--check", str(doc)]) == 1
    assert "task_id='stale'" in doc.read_text(), "--check must not rewrite"
    assert sync.main([str(doc)]) == 0
    text = doc.read_text()
    assert 'task_id="run_hive_job"' in text and "stale" not in text
    assert text.endswith("<!-- end snippet -->\n\nText after.\n")
    assert sync.main(["--check", str(doc)]) == 0


def test_sync_script_rejects_unknown_snippet(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(
        "<!-- snippet: example_dags/example_hadoop_eco_hive.py no_such_name -->\n<!-- end snippet -->\n"
    )
    assert sync.main(["--check", str(doc)]) == 2


def test_sync_script_check_passes_on_the_repository() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- links ------------------------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`+[^`]*`+")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path.read_text()):
        found.update(HTML_ANCHOR.findall(line))
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    out = []
    for number, line in _prose_lines(path.read_text()):
        prose = INLINE_CODE.sub("", line)
        out += [(number, target) for target in INLINE_LINK.findall(prose)]
        match = REFERENCE_LINK.match(prose)
        if match:
            out.append((number, match.group(1)))
    return out


def broken_links(path: Path) -> list[str]:
    problems = []
    for number, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        if file_part.startswith("/"):
            resolved = REPO / file_part.lstrip("/")
        elif file_part:
            resolved = (path.parent / file_part).resolve()
        else:
            resolved = path
        where = f"{path.relative_to(REPO)}:{number}: {target}"
        if not resolved.exists():
            problems.append(f"{where} -> {file_part} does not exist")
            continue
        if REPO.resolve() not in [resolved.resolve(), *resolved.resolve().parents]:
            problems.append(f"{where} -> points outside the repository")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where} -> no heading with anchor #{anchor} in {resolved.name}")
    return problems


def test_github_slug_rules() -> None:
    assert (
        github_slug("Retries and re-attach: Airflow 3.3 vs older")
        == "retries-and-re-attach-airflow-33-vs-older"
    )
    assert github_slug("Run a Hive job: `HadoopEcoCreateClusterOperator`") == (
        "run-a-hive-job-hadoopecocreateclusteroperator"
    )
    assert github_slug('The create call times out: "the job may have started"') == (
        "the-create-call-times-out-the-job-may-have-started"
    )


def test_link_checker_finds_broken_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    (tmp_path / "other.md").write_text("# Real heading\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#real-heading) [web](https://example.com)\n"
        "[missing](nope.md) [bad anchor](other.md#nope) ![img](img/none.png)\n"
        "`[in code](ignored.md)`\n```\n[in fence](ignored.md)\n```\n"
    )
    problems = broken_links(page)
    assert len(problems) == 3, problems
    assert any("nope.md" in p for p in problems)
    assert any("#nope" in p for p in problems)
    assert any("img/none.png" in p for p in problems)


@pytest.mark.parametrize("path", markdown_files(), ids=_ids(markdown_files()))
def test_relative_links_resolve(path: Path) -> None:
    assert path.exists(), f"{path.relative_to(REPO)} is missing"
    problems = broken_links(path)
    assert not problems, "\n".join(problems)


def test_index_links_every_docs_page() -> None:
    index = DOCS / "index.md"
    linked = {
        (index.parent / t.partition("#")[0]).resolve() for _, t in links(index) if not t.startswith("http")
    }
    missing = [p.name for p in DOCS.glob("*.md") if p.name != "index.md" and p.resolve() not in linked]
    assert not missing, f"docs/index.md does not link {missing}"


def test_readme_links_the_docs_index() -> None:
    targets = {t for _, t in links(REPO / "README.md")}
    assert "docs/index.md" in targets


def test_connection_guide_shows_the_screenshot() -> None:
    image = DOCS / "img" / "connection-form.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](img/connection-form.png)" in (DOCS / "connection.md").read_text()
