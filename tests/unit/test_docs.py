"""The docs a reader trusts stay in step with the code (issue 16 §6).

Every name is read from the code: the config schema's dataclasses, the architectures' and
encoders' signatures and the registries of :mod:`manyheads._catalogue`, never from a hand list,
so a new field, option or registry entry fails here until ``docs/config.md`` and the README say
it. ``docs/benchmarks.md`` keeps one summary table of every section, and every link to one of
its sections resolves; ``CHANGELOG.md`` keeps the Keep a Changelog 1.1 shape.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from manyheads._catalogue import ARCHITECTURES, ENCODERS, METHODS, TASK_TYPES
from manyheads._registry import Registry
from manyheads.architectures._registry import architecture_options
from manyheads.config._sections import TRAIN_EXTRA, task_keys
from manyheads.config.schema import DataConfig, SourceConfig
from manyheads.encoders._registry import encoder_option_names
from manyheads.engine.trainer import TrainSettings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONFIG = ROOT / "docs" / "config.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
CHANGELOG = ROOT / "CHANGELOG.md"
REGISTRIES: dict[str, Registry[Any]] = {
    "architecture": ARCHITECTURES,
    "encoder": ENCODERS,
    "task type": TASK_TYPES,
    "balancing method": METHODS,
}


def section(path: Path, title: str) -> str:
    """The text of the ``## title`` section of a Markdown file, up to the next ``## ``."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{path.name} has no section '## {title}'"
    return match.group(1)


def undocumented(names: list[str], text: str) -> list[str]:
    """The names that ``text`` never writes as code (`` `name` ``)."""
    return sorted({n for n in names if f"`{n}`" not in text})


def headings(text: str) -> list[tuple[int, str]]:
    """``(level, title)`` of every Markdown heading outside fenced code blocks."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#{1,6}) (.+)", line)):
            found.append((len(match.group(1)), match.group(2).strip()))
    return found


def anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens.

    Example:
        >>> anchor("Text: POS + NER on UD English-EWT")
        'text-pos--ner-on-ud-english-ewt'
    """
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def test_readme_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no bash block"
    commands = [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]
    assert commands == ["make quickstart", "make test"]
    assert text.index("```bash") < text.index("\n## "), "the two commands come first"


@pytest.mark.parametrize("what", list(REGISTRIES))
@pytest.mark.parametrize("path", [README, CONFIG], ids=["README", "config"])
def test_every_registered_name_is_documented(what: str, path: Path) -> None:
    missing = undocumented(REGISTRIES[what].names(), path.read_text(encoding="utf-8"))
    assert not missing, f"{path.name} does not name the {what}(s) {missing}"


@pytest.mark.parametrize(
    ("title", "names"),
    [
        ("`data`", [f.name for f in dataclasses.fields(DataConfig)]),
        ("`data`", [f.name for f in dataclasses.fields(SourceConfig)]),
        ("`tasks`", task_keys()),
        ("`train`", [f.name for f in dataclasses.fields(TrainSettings)] + list(TRAIN_EXTRA)),
        (
            "`model`",
            sorted({o for a in ARCHITECTURES.names() for o in architecture_options(a)}),
        ),
        ("`model`", sorted({o for e in ENCODERS.names() for o in encoder_option_names(e)})),
    ],
    ids=["data", "sources", "tasks", "train", "model", "encoder_options"],
)
def test_every_config_key_is_in_its_section(title: str, names: list[str]) -> None:
    missing = undocumented(names, section(CONFIG, title))
    assert not missing, f"docs/config.md, section {title}, does not document {missing}"


def test_benchmarks_summary_links_every_section() -> None:
    text = BENCHMARKS.read_text(encoding="utf-8")
    summary = section(BENCHMARKS, "Summary")
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert len(rows) > 2, "the summary is a table"
    table = [line for line in summary.splitlines() if line.startswith("|")]
    assert table[1].startswith("|---"), "rows merged in above the summary's header separator"
    assert not [r for r in table[2:] if r.startswith("|---")], "one separator, under the header"
    titles = [t for level, t in headings(text) if level == 2 and t != "Summary"]
    missing = [t for t in titles if f"(#{anchor(t)})" not in summary]
    assert not missing, f"the summary of docs/benchmarks.md has no row for {missing}"
    assert text.index("## Summary") < text.index(f"## {titles[0]}"), "the summary comes first"


def test_links_to_sections_resolve() -> None:
    pages = [README, CHANGELOG, *sorted((ROOT / "docs").glob("*.md"))]
    anchors = {
        path: {anchor(t) for _, t in headings(path.read_text(encoding="utf-8"))} for path in pages
    }
    broken = []
    for path in pages:
        for target, frag in re.findall(r"\]\(([\w./-]*?)#([^)\s]+)\)", path.read_text("utf-8")):
            linked = (path.parent / target).resolve() if target else path
            if frag not in anchors.get(linked, set()):
                broken.append(f"{path.relative_to(ROOT)}: ({target}#{frag})")
    assert not broken, f"links to missing sections: {broken}"


def test_changelog_keeps_a_changelog_shape() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    releases = re.split(r"^## ", text, flags=re.M)[1:]
    names = [r.splitlines()[0] for r in releases]
    assert names[0] == "[Unreleased]"
    assert any(re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", n) for n in names[1:])
    for name, body in zip(names, releases, strict=True):
        blocks = re.findall(r"^### (.+)$", body, flags=re.M)
        assert set(blocks) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
        assert len(blocks) == len(set(blocks)), f"{name} repeats a block: {blocks}"
        version = name.split("]")[0] + "]"
        assert re.search(rf"^{re.escape(version)}: https://\S+$", text, re.M), (
            f"no link reference for {version}"
        )
