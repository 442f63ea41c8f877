"""docs/reliability.md shows the catalogue as it is (``python -m tests.catalogue.summary``)."""

from __future__ import annotations

from pathlib import Path

from tests.catalogue.summary import collect, table

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def test_the_reliability_doc_lists_the_catalogue_as_it_is() -> None:
    expected = table(collect())
    assert expected in DOC.read_text(), (
        "docs/reliability.md's catalogue table is out of date; paste the output of "
        f"`python -m tests.catalogue.summary`:\n{expected}"
    )
