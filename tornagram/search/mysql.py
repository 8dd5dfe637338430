"""Search on MySQL and MariaDB: prefixes as ``LIKE 'p%'``, captions by word or CJK substring.

Prefixes: ``LIKE`` with a constant prefix is an index range. Usernames and tags compare under
utf8mb4_bin (code points, like the other engines), display names under utf8mb4_unicode_ci, so
that one plain index serves a case-insensitive prefix (migration 0005). ``%`` and ``_`` in the
query are escaped: they are only text.

Captions. MySQL 8 has InnoDB's ngram parser, MariaDB none (``SHOW PLUGINS``; its FULLTEXT
splits on spaces, so a Chinese run would be one word and words under three characters are not
indexed at all). So the rule is written once, as a regular expression both servers run (ICU on
MySQL 8, PCRE2 on MariaDB): a word of Latin, Cyrillic, … letters matches where a caption's word
begins (the prefix rule of FTS5 and ``to_tsquery``), and a word with Chinese, Japanese or Korean
characters matches anywhere, since those languages do not put spaces between words. On MySQL 8
the ngram FULLTEXT index narrows the rows first (``MATCH … AGAINST`` in boolean mode, each word a
quoted phrase of bigrams); on MariaDB the captions are read newest first until a page is full.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import and_

# Scripts written without spaces between words.
_CJK_PREFIXES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC")
# What ``words()`` calls part of a word: letters, marks, digits and private-use characters.
_WORD_CHAR = r"[\p{L}\p{M}\p{N}\p{Co}]"
# ngram_token_size's default: a shorter word has no bigram to look up.
NGRAM_TOKEN_SIZE = 2


def like_prefix(column_, prefix: str):
    """``column_`` starts with ``prefix`` (``%``, ``_`` and ``/`` escaped), an index range."""
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return column_.like(escaped + "%", escape="/")


def is_cjk(word: str) -> bool:
    return any(unicodedata.name(char, "").startswith(_CJK_PREFIXES) for char in word)


def word_pattern(word: str) -> str:
    """The regular expression of one search word (already case-folded by ``words()``)."""
    quoted = re.escape(word)
    if is_cjk(word):
        return quoted
    # Case-insensitively, where a word begins: not after another word character.
    return f"(?i)(?<!{_WORD_CHAR}){quoted}"


def boolean_query(terms: list[str]) -> str | None:
    """The ngram index's boolean-mode query for the words it can look up, or None if none."""
    phrases = [f'+"{term}"' for term in terms if len(term) >= NGRAM_TOKEN_SIZE]
    return " ".join(phrases) or None


def caption_match(caption, terms: list[str], *, mariadb: bool):
    """Every word of ``terms`` is in ``caption``, by the rule above."""
    clauses = [caption.regexp_match(word_pattern(term)) for term in terms]
    query = None if mariadb else boolean_query(terms)
    if query is not None:
        # MATCH (caption) AGAINST (:query IN BOOLEAN MODE): the index's candidates.
        clauses.insert(0, caption.match(query))
    return and_(*clauses)
