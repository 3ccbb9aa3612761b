"""Result tables for the book: pandas tables as numbered Sphinx tables.

A chapter glues a table with :func:`glue_table` and places it with a ``table`` directive
around a ``glue:md`` paste, so that Sphinx numbers it as a *table* ("Table 3.2") rather
than a figure::

    :::{table} Caption.
    :name: tab-example

    ```{glue:md} tab-example-df
    :format: gfm
    ```
    :::

The table travels as GitHub-flavoured Markdown (a pipe table), which the ``table``
directive receives as its one table node. Formatting set on a pandas ``Styler``
(``.format``, ``.hide(axis="index")``) is kept; CSS is not.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

_SEP = "\x1f"  # a delimiter no formatted cell contains


def _escape(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def md_table(obj: pd.DataFrame | pd.Series | Styler) -> str:
    """A GitHub-flavoured Markdown pipe table of a DataFrame, Series or Styler.

    Column levels are joined with a space into one header row; index levels become the
    first columns (unless the Styler hides the index), headed by their names.
    """
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, pd.DataFrame):  # a newline inside a cell would split its row
        obj = obj.apply(lambda c: c.map(lambda v: v.replace("\n", " ") if isinstance(v, str) else v)
                        if not pd.api.types.is_numeric_dtype(c) else c)
    styler = obj if isinstance(obj, Styler) else obj.style
    data = styler.data
    show_index = not all(styler.hide_index_)
    n_idx = data.index.nlevels if show_index else 0
    lines = styler.to_string(delimiter=_SEP, sparse_index=False, sparse_columns=False).rstrip("\n").split("\n")
    n_col_levels = data.columns.nlevels
    n_head = len(lines) - len(data)  # column levels, plus a row of index names when shown
    if n_head not in (n_col_levels, n_col_levels + 1):
        raise ValueError(f"cannot lay out a table with {len(lines)} lines for {len(data)} rows "
                         "(does a formatted cell contain a newline?)")
    rows = [line.split(_SEP) for line in lines]
    head_rows, body = rows[:n_col_levels], rows[n_head:]
    columns = [" ".join(str(r[n_idx + j]) for r in head_rows if n_idx + j < len(r) and r[n_idx + j] != "").strip()
               for j in range(data.shape[1])]
    index_names = [str(n) if n is not None else "" for n in data.index.names] if show_index else []
    header = index_names + columns
    align = [":--"] * n_idx + ["--:" if pd.api.types.is_numeric_dtype(data.dtypes.iloc[j]) else ":--"
                               for j in range(data.shape[1])]
    out = ["| " + " | ".join(_escape(h) for h in header) + " |", "|" + "|".join(align) + "|"]
    for r in body:
        if len(r) != len(header):
            raise ValueError(f"row {r} does not match the header {header}")
        out.append("| " + " | ".join(_escape(c) for c in r) + " |")
    return "\n".join(out) + "\n"


def glue_table(name: str, obj, display: bool = False) -> None:
    """Glue ``obj`` (DataFrame, Series or Styler) as a Markdown table under ``name``."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(md_table(obj)), display=display)


def glue_texts(values: dict[str, str]) -> None:
    """Glue each text of ``values`` (glue name -> text) for ``{glue:text}``, without displaying it."""
    from myst_nb import glue

    for name, text in values.items():
        glue(name, text, display=False)
