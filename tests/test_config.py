from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import Config, YamlRefused, load_config, load_yaml, with_overrides
from digest.errors import ConfigError

from .conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_matches_the_dataclass_defaults() -> None:
    shipped = load_config(ROOT / "config.yaml")
    defaults = Config(base_dir=shipped.base_dir, sources=shipped.sources, topics=shipped.topics)
    assert shipped == defaults


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data_dir: state\n"))
    assert config.data_path == tmp_path / "state"
    assert config.resolve("articles") == str(tmp_path / "articles")
    assert config.resolve("https://example.org/feed") == "https://example.org/feed"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sumarizer: {}\n", r"unknown key 'sumarizer'"),
        ("summarizer:\n  backend: magic\n", r"summarizer\.backend: 'magic' is not one of"),
        ("summarizer:\n  max_key_points: five\n", r"summarizer\.max_key_points: expected a whole"),
        ("rank:\n  weights:\n    interset: 1\n", r"unknown key 'rank\.weights\.interset'"),
        ("rank:\n  half_life_hours: [1]\n", r"rank\.half_life_hours: expected a number"),
        ("delivery:\n  smtp:\n    allow_insecure: 'yes'\n", r"allow_insecure: expected true"),
        ("sources:\n  - location: x\n", r"missing key 'sources\[0\]\.name'"),
        ("sources: feeds\n", r"sources: expected a list"),
        ("timezone: Mars/Olympus\n", r"timezone: unknown time zone"),
        ("topics: [a, 3]\n", r"topics\[1\]: expected a string"),
        ("- just\n- a list\n", r"top level must be a mapping"),
        ("summarizer: {min_key_points: 6, max_key_points: 5}\n", r"min_key_points"),
        ("sources:\n  - {name: a, location: x}\n  - {name: a, location: y}\n", r"used twice"),
        ("key: [unclosed\n", r"not valid YAML"),
        ("summarizer:\n  backend: generative\n", r"summarizer\.model is not set"),
        ("edition:\n  stories: -3\n", r"edition\.stories: -3 is out of range \(must be between 1"),
        ("server:\n  port: 99999\n", r"server\.port: 99999 is out of range"),
        ("edition:\n  min_stories: -1\n", r"edition\.min_stories: -1 is out of range"),
        ("edition:\n  multilingual: labse\n", r"edition\.multilingual: 'labse' is not one of"),
        ("edition:\n  section_names: [World]\n", r"edition\.section_names: expected a mapping"),
        ("edition:\n  section_names: {world: 3}\n", r"section_names\.world: expected a string"),
        ("delivery:\n  connections: 0\n", r"delivery\.connections: 0 is out of range"),
        ("rank:\n  half_life_hours: 0\n", r"rank\.half_life_hours: 0\.0 is out of range"),
        # Hostile files: aliases, depth, numbers no option can hold, an unsafe tag.
        (
            "a: &x [1, 2]\ntopics: *x\n",
            r"not valid YAML: line 2: aliases \(\*name\) are not allowed",
        ),
        ("topics: " + "[" * 60 + "]" * 60 + "\n", r"line 1: nested more than 50 deep"),
        ("server:\n  port: " + "9" * 5000 + "\n", r"not valid YAML: a value that cannot be read"),
        (
            "server:\n  port: " + "9" * 40 + "\n",
            r"server\.port: a number of 40 digits is too large",
        ),
        ("delivery:\n  smtp:\n    timeout: .inf\n", r"timeout: expected a finite number, got inf"),
        ("rank:\n  weights:\n    interest: .nan\n", r"interest: expected a finite number, got nan"),
        ("rank:\n  weights:\n    interest: 1" + "0" * 400 + "\n", r"expected a finite number"),
        ("data_dir: !!python/object/apply:os.getcwd []\n", r"not valid YAML"),
        ("sources:\n  - {name: a, location: x, fetch_timeout: 0}\n", r"fetch_timeout 0 is out"),
    ],
)
def test_each_config_error_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_overrides_are_validated_like_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    changed = with_overrides(config, **{"summarizer.max_key_points": 4})
    assert changed.summarizer.max_key_points == 4
    assert config.summarizer.max_key_points == 5
    with pytest.raises(ConfigError, match="max_key_points: expected a whole number"):
        with_overrides(config, **{"summarizer.max_key_points": "4"})


@pytest.mark.parametrize("key", ["nope.x", "summarizer.backend.x"])
def test_an_override_under_an_unknown_or_plain_key_is_a_config_error(key: str) -> None:
    with pytest.raises(ConfigError, match=key.rsplit(".", 1)[0]):
        with_overrides(Config(), **{key: "1"})


def test_config_files_that_are_not_utf8_text_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    for data, message in (
        ("newsletter:\n  title: Le Café\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"not UTF-8 text \(byte 0x89 at offset 0\)"),
        (b"# " + b"x" * (1 << 20), r"larger than the 1,048,576-byte limit"),
    ):
        path.write_bytes(data)
        with pytest.raises(ConfigError, match=message) as info:
            load_config(path)
        assert "\n" not in str(info.value)


def test_a_yaml_alias_bomb_is_refused_at_its_first_alias() -> None:
    """Nine levels of nine aliases would be 9**9 (387 million) strings once expanded; the
    loader stops at the first alias, before building anything from it."""
    bomb = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    with pytest.raises(YamlRefused, match="line 2: aliases"):
        load_yaml(bomb)


def test_yaml_timestamps_stay_text_for_the_date_rules() -> None:
    assert load_yaml("date: 2026-11-24\nwhen: 0000-01-01\n") == {
        "date": "2026-11-24",
        "when": "0000-01-01",
    }
