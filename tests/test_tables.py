"""Book tables travel as Markdown pipe tables (numbered as tables by Sphinx)."""

import numpy as np
import pandas as pd
import pytest

from spikeflux.tables import md_table


def test_styler_format_and_multiindex_columns():
    df = pd.DataFrame([[0.12345, 2.0], [1.5, np.nan]], index=pd.Index(["a", "b"], name="method"),
                      columns=pd.MultiIndex.from_tuples([("adl", "1L"), ("adl", "2L")], names=["data", "model"]))
    text = md_table(df.style.format("{:.2f}", na_rep="n/a"))
    lines = text.splitlines()
    assert lines[0] == "| method | adl 1L | adl 2L |"
    assert lines[1] == "|:--|--:|--:|"
    assert lines[2:] == ["| a | 0.12 | 2.00 |", "| b | 1.50 | n/a |"]


def test_hidden_index_and_escaped_pipes():
    df = pd.DataFrame({"x": ["u|v", "w"], "n": [1, 2]})
    lines = md_table(df.style.hide(axis="index")).splitlines()
    assert lines[0] == "| x | n |"
    assert lines[2] == "| u\\|v | 1 |"


def test_series_and_multiindex_rows():
    s = pd.Series([1.0, 2.0], index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "j"]), name="v")
    lines = md_table(s.to_frame().style.format("{:.1f}")).splitlines()
    assert lines[0] == "| k | j | v |" and lines[2] == "| a | 1 | 1.0 |"
    assert md_table(s).splitlines()[0] == "| k | j | v |"


def test_every_row_has_every_column():
    df = pd.DataFrame(np.arange(12).reshape(4, 3), columns=list("abc"))
    rows = md_table(df).splitlines()
    assert len(rows) == 2 + 4 and all(r.count("|") == 5 for r in rows)


@pytest.mark.parametrize("bad", [pd.DataFrame({"a": ["x\ny"]})])
def test_newlines_do_not_break_a_row(bad):
    assert len(md_table(bad).splitlines()) == 3


def test_glue_texts_glues_each_text_undisplayed(monkeypatch):
    import myst_nb

    from spikeflux.tables import glue_texts

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.append((name, value, display)))
    glue_texts({"a": "1", "b": "two"})
    assert calls == [("a", "1", False), ("b", "two", False)]
