from __future__ import annotations

import pytest

from tradecast.config import parse_jsonc
from tradecast.config.jsonc import strip_comments
from tradecast.core.errors import ConfigError


def test_line_and_block_comments_are_ignored() -> None:
    text = """
    // leading comment
    {
        "a": 1, // trailing comment
        /* block
           over lines */ "b": [1, 2] /* inline */
    }
    """
    assert parse_jsonc(text) == {"a": 1, "b": [1, 2]}


def test_comment_markers_inside_strings_are_kept() -> None:
    text = r'{"url": "http://host:8080/x", "glob": "a/*b*/c", "esc": "quote \" // still string"} // c'
    assert parse_jsonc(text) == {
        "url": "http://host:8080/x",
        "glob": "a/*b*/c",
        "esc": 'quote " // still string',
    }


def test_blanked_comments_keep_positions() -> None:
    text = '{\n/* one\ntwo */ "a": 1}'
    stripped = strip_comments(text)
    assert len(stripped) == len(text)
    assert stripped.count("\n") == text.count("\n")


def test_json_error_names_source_line_and_column() -> None:
    text = '{\n  // fine\n  "a": 1\n  "b": 2\n}'
    with pytest.raises(ConfigError, match=r"^my.json:4:3: invalid JSON"):
        parse_jsonc(text, "my.json")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{\n  "a": 1,\n}', "x.json:2:9"),
        ('{"a": [1, 2, ], "b": 1}', "x.json:1:12"),
        ('{"a": 1, // comment\n /* block */ }', "x.json:1:8"),
    ],
)
def test_trailing_comma_is_an_error_with_position(text: str, where: str) -> None:
    with pytest.raises(ConfigError, match=f"^{where}: trailing comma"):
        parse_jsonc(text, "x.json")


def test_commas_inside_strings_are_not_trailing() -> None:
    assert parse_jsonc('{"a": "x,}", "b": ",]"}') == {"a": "x,}", "b": ",]"}


def test_trailing_commas_can_be_allowed_like_freqtrade() -> None:
    assert parse_jsonc('{"a": [1, 2,],}', allow_trailing_commas=True) == {"a": [1, 2]}


def test_unterminated_block_comment() -> None:
    with pytest.raises(ConfigError, match=r"x.json:2:3: unterminated"):
        parse_jsonc('{\n  /* open "a": 1}', "x.json")
