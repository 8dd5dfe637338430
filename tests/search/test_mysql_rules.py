"""The MySQL/MariaDB caption rule as SQL (the MySQL 8 ngram path has no server here; MariaDB's
runs for real in test_search.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import mysql as mysql_dialect

from tornagram.photos.models import Post
from tornagram.search import mysql


def sql(clause) -> str:
    return str(
        select(Post.id)
        .where(clause)
        .compile(dialect=mysql_dialect.dialect(), compile_kwargs={"literal_binds": True})
    )


def test_spaced_words_match_where_a_word_begins_and_cjk_anywhere():
    assert mysql.word_pattern("gold") == r"(?i)(?<![\p{L}\p{M}\p{N}\p{Co}])gold"
    assert mysql.word_pattern("猫") == "猫"
    assert mysql.word_pattern("ねこ") == "ねこ"
    assert mysql.is_cjk("한국") and not mysql.is_cjk("café")


def test_mysql_8_narrows_by_the_ngram_index_and_mariadb_does_not():
    terms = ["猫", "golden"]
    on_mysql = sql(mysql.caption_match(Post.caption, terms, mariadb=False))
    assert "MATCH (posts.caption) AGAINST ('+\"golden\"' IN BOOLEAN MODE)" in on_mysql
    assert on_mysql.count("REGEXP") == 2
    on_mariadb = sql(mysql.caption_match(Post.caption, terms, mariadb=True))
    assert "MATCH" not in on_mariadb and on_mariadb.count("REGEXP") == 2
    # A single character has no bigram to look up: the regexp alone decides.
    assert mysql.boolean_query(["猫"]) is None


def test_prefix_wildcards_are_escaped():
    # (The driver's format style doubles every % of the statement text.)
    clause = sql(mysql.like_prefix(Post.caption, "50%_a/b")).replace("%%", "%")
    assert "LIKE '50/%/_a//b%' ESCAPE '/'" in clause
