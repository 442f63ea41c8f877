"""The one YAML reader: YAML 1.2 numbers, duplicate keys, file errors, shared by every config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from manyheads.config._yaml import load_yaml, read_yaml_file, yaml_value
from manyheads.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 1e-3),
        ("1E3", 1000.0),
        ("-2e+2", -200.0),
        ("5e-05", 5e-05),
        ("1.5e3", 1500.0),
        (".5e-3", 5e-4),
        ("-.5E2", -50.0),
        ("1.0e-3", 1e-3),  # YAML 1.1 form still works
        ("0.5", 0.5),
        (".inf", float("inf")),
        ("3", 3),
        ("1e3x", "1e3x"),  # not a number
        ("e3", "e3"),
        ("1.2.3", "1.2.3"),  # a version string stays a string
        ("'1e-3'", "1e-3"),  # quoted: the user asked for a string
    ],
)
def test_numbers_follow_yaml_12(text: str, expected: object) -> None:
    value = load_yaml(f"v: {text}")["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_pyyaml_itself_keeps_its_rules() -> None:
    # the package's loader is a copy: other users of yaml.SafeLoader are not changed
    assert yaml.safe_load("v: 1e-3")["v"] == "1e-3"


def test_a_duplicate_key_names_line_and_column() -> None:
    with pytest.raises(
        ConfigError, match=r"(?s)cfg\.yaml: .*duplicate key 'b' at line 3, column 3"
    ):
        load_yaml("a:\n  b: 1\n  b: 2\n", source="cfg.yaml")


def test_a_syntax_error_names_line_and_column() -> None:
    with pytest.raises(
        ConfigError,
        match=r"invalid YAML at line 3, column 1: expected ',' or '\]', but got '<stream end>' "
        r"\(while parsing a flow sequence, which starts at line 1, column 4\)",
    ):
        load_yaml("a: [1,\nb: 2\n")


def test_an_empty_document_is_none() -> None:
    assert load_yaml("") is None
    assert load_yaml("# only a comment\n") is None


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"(?s)absent\.yaml: .*cannot read the config: no such"):
        read_yaml_file(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"is a directory, not a YAML file"):
        read_yaml_file(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(
        ConfigError, match=r"(?s)latin\.yaml: .*not UTF-8 text: byte 0xe9 at line 2, column 10"
    ):
        read_yaml_file(latin, what="crawl config")


def test_an_override_value_is_read_by_the_same_rules() -> None:
    assert yaml_value("1e-3", override="train.lr=1e-3") == 1e-3
    assert yaml_value("[64, 32]", override="model.hidden=[64, 32]") == [64, 32]
    with pytest.raises(ConfigError, match=r"override 'model\.hidden=\[64,': the value is not"):
        yaml_value("[64,", override="model.hidden=[64,")


def test_the_crawl_config_shares_the_reader(tmp_path: Path) -> None:
    from manyheads.crawl import load_config

    path = tmp_path / "crawl.yaml"
    path.write_text("start_urls: ['https://example.org/']\npoliteness: {delay_s: 5e-1}\n")
    assert load_config(path).politeness.delay_s == 0.5
    assert load_config(path, ["politeness.delay_s=2e0"]).politeness.delay_s == 2.0
    path.write_text("start_urls: ['https://a.org/']\nstart_urls: ['https://b.org/']\n")
    with pytest.raises(
        ConfigError, match=r"(?s)crawl\.yaml: .*duplicate key 'start_urls' at line 2"
    ):
        load_config(path)


def test_the_dataset_build_config_shares_the_reader(tmp_path: Path) -> None:
    from manyheads.curation import load_build_config

    path = tmp_path / "dataset.yaml"
    path.write_text("labels: {}\nlabels: {}\n")
    with pytest.raises(ConfigError, match=r"(?s)dataset\.yaml: .*duplicate key 'labels' at line 2"):
        load_build_config(path)
    with pytest.raises(ConfigError, match=r"cannot read the dataset config: no such file"):
        load_build_config(tmp_path / "absent.yaml")
