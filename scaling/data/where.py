"""``where=``: a small, safe row-filter language evaluated on a DataFrame.

It reads like :meth:`pandas.DataFrame.query` but runs no code: the expression is
parsed with :mod:`ast` and only this grammar is accepted::

    expr    := expr (and | or | & | |) expr  |  (not | ~) expr  |  ( expr )  |  compare  |  column
    compare := operand (== | != | < | <= | > | >= | in | not in) operand ...   (chains: a < b < c)
    operand := column | `column with spaces` | literal | [literal, ...]
    literal := number | -number | 'text' | "text" | True | False

``&`` and ``|`` bind like ``and``/``or`` (as in pandas), so ``a == 1 & b == 2`` means
``(a == 1) and (b == 2)``. ``col == [1, 2]`` means ``col in [1, 2]``, as in pandas.
Anything else (``@`` names, attribute access, calls, subscripts, arithmetic, lambdas,
comprehensions) is refused with a :class:`DataError` naming the offending token.
The result is a boolean mask by position, so repeated index labels cannot lose rows.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pandas as pd

from scaling.errors import DataError

_COMPARE = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_SYMBOL = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_REFUSED = {
    ast.Attribute: "attribute access ('.')",
    ast.Call: "a function call",
    ast.Subscript: "indexing ('[...]' after a name)",
    ast.Lambda: "a lambda",
    ast.BinOp: "arithmetic",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.IfExp: "an if-else expression",
    ast.NamedExpr: "an assignment (':=')",
    ast.Starred: "'*'",
    ast.Dict: "a dict",
    ast.JoinedStr: "an f-string",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
}
_HELP = "Write conditions on columns, e.g. where=\"frontier == 1 and year >= 2020\" or where=\"org in ['A', 'B']\"."


def _scan(text: str) -> tuple[str, dict[str, str]]:
    """Replace backquoted column names by identifiers and ``&``/``|`` by ``and``/``or``; refuse ``@``.

    Returns the rewritten text and the identifier -> column name map. String literals are copied verbatim.
    """
    out: list[str] = []
    names: dict[str, str] = {}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "'\"":
            j = i + 1
            while j < len(text) and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if j >= len(text):
                raise DataError(
                    f"cannot apply where={text!r}: the text starting at {text[i : i + 20]!r} has no closing {ch}."
                )
            out.append(text[i : j + 1])
            i = j + 1
        elif ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise DataError(f"cannot apply where={text!r}: a backquoted column name has no closing '`'.")
            ident = f"_col{len(names)}_"
            names[ident] = text[i + 1 : j]
            out.append(f" {ident} ")
            i = j + 1
        elif ch == "@":
            raise DataError(
                f"cannot apply where={text!r}: '@' (a Python variable) is not allowed; where= filters on columns and "
                f"literal values only. {_HELP}"
            )
        elif ch in "&|":
            out.append(" and " if ch == "&" else " or ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out), names


def parse(text: str) -> ast.expr:
    """Parse and check ``text`` against the grammar above; the tree, or a :class:`DataError`."""
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"where= must be a non-empty text condition; got {text!r}. {_HELP}")
    rewritten, names = _scan(text)
    try:
        tree = ast.parse(rewritten.strip(), mode="eval").body
    except SyntaxError as e:
        raise DataError(f"cannot apply where={text!r}: not a valid condition ({e.msg}). {_HELP}") from None
    except (RecursionError, MemoryError):
        raise DataError(f"cannot apply where={text[:40]!r}...: the condition is nested too deeply. {_HELP}") from None
    except ValueError as e:  # e.g. a NUL character
        raise DataError(f"cannot apply where={text!r}: not a valid condition ({e}). {_HELP}") from None
    for node in ast.walk(tree):
        for kind, what in _REFUSED.items():
            if isinstance(node, kind):
                token = ast.get_source_segment(rewritten.strip(), node) or kind.__name__
                raise DataError(f"cannot apply where={text!r}: {what} is not allowed (in {token!r}). {_HELP}")
        if isinstance(node, ast.Name) and node.id in names:
            node.id = "`" + names[node.id] + "`"  # restored so messages name the column as written
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool)):
            raise DataError(f"cannot apply where={text!r}: the literal {node.value!r} is not allowed. {_HELP}")
    return tree


def mask(df: pd.DataFrame, text: str) -> np.ndarray:
    """Boolean array (one entry per row, by position) of the rows of ``df`` that satisfy ``text``."""
    tree = parse(text)
    try:
        result = _Eval(df, text).value(tree)
    except RecursionError:
        raise DataError(f"cannot apply where={text[:40]!r}...: the condition is nested too deeply. {_HELP}") from None
    if not _is_bool(result):
        what = "a column" if isinstance(tree, ast.Name) else "a value"
        raise DataError(
            f"cannot apply where={text!r}: it is {what}, not a condition (true or false for each row). {_HELP}"
        )
    return np.asarray(result, dtype=bool)


def _is_bool(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype == bool


class _Eval:
    def __init__(self, df: pd.DataFrame, text: str) -> None:
        self.df, self.text = df, text

    def fail(self, msg: str) -> DataError:
        return DataError(f"cannot apply where={self.text!r}: {msg}")

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return combine.reduce(parts)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return ~self.condition(node.operand)
            v = self.value(node.operand)
            if isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(v, (int, float)) and not isinstance(v, bool):
                return -v if isinstance(node.op, ast.USub) else v
            raise self.fail("a sign ('-', '+') may only precede a number.")
        if isinstance(node, ast.Compare):
            out, left = None, node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                part = self.compare(left, op, right)
                out = part if out is None else out & part
                left = right
            return out
        if isinstance(node, ast.Name):
            return self.column(node.id)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.value(e) for e in node.elts]
            if any(isinstance(i, np.ndarray) for i in items):
                raise self.fail("a list may hold only literal values, e.g. ['A', 'B'] or [1, 2].")
            return items
        raise self.fail(f"{type(node).__name__} is not allowed. {_HELP}")

    def condition(self, node: ast.expr) -> np.ndarray:
        v = self.value(node)
        if not _is_bool(v):
            token = ast.unparse(node)
            raise self.fail(f"{token!r} is not a condition; combine conditions such as 'col == 1' with and/or/not.")
        return v

    def column(self, name: str) -> np.ndarray:
        col = name[1:-1] if name.startswith("`") else name
        if col not in self.df.columns:
            raise self.fail(f"no column {col!r}. Available columns: {list(self.df.columns)}.")
        series = self.df[col]
        if isinstance(series, pd.DataFrame):
            raise self.fail(f"column name {col!r} appears more than once in the table; rename the copies.")
        if pd.api.types.is_datetime64_dtype(series.dtype):
            return series.to_numpy(dtype="datetime64[ns]")
        if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
            return series.to_numpy(dtype=bool)
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            return series.to_numpy(dtype=float, na_value=np.nan)  # missing values match no comparison
        return series.to_numpy(dtype=object, na_value=None)

    def compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> np.ndarray:
        a, b = self.value(left), self.value(right)
        symbol = _SYMBOL[type(op)]
        if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
            raise self.fail(f"{ast.unparse(left)} {symbol} {ast.unparse(right)} compares no column.")
        if isinstance(op, (ast.In, ast.NotIn)) or isinstance(b, list):
            if not isinstance(b, list) or not isinstance(a, np.ndarray):
                raise self.fail(f"'{symbol}' needs a column on the left and a list on the right, e.g. org in ['A'].")
            if not isinstance(op, (ast.In, ast.NotIn, ast.Eq, ast.NotEq)):
                raise self.fail(f"a list can only follow in, not in, == or !=; got '{symbol}'.")
            for item in b:
                self.kinds(a, item, left, symbol)
            hit = pd.Series(a).isin(b).to_numpy(dtype=bool)
            return ~hit if isinstance(op, (ast.NotIn, ast.NotEq)) else hit
        a, b = self.dated(a, b), self.dated(b, a)
        for col, other, node in ((a, b, left), (b, a, right)):
            if isinstance(col, np.ndarray) and not isinstance(other, np.ndarray):
                self.kinds(col, other, node, symbol)
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and (a.dtype == object) != (b.dtype == object):
            raise self.fail(f"{ast.unparse(left)} {symbol} {ast.unparse(right)} compares text with numbers.")
        try:
            with np.errstate(invalid="ignore"):
                out = _COMPARE[type(op)](a, b)
        except TypeError:
            raise self.fail(
                f"cannot order the values in {ast.unparse(left)} {symbol} {ast.unparse(right)} "
                f"(a column mixes text and numbers, or has missing values); use == or in."
            ) from None
        return np.asarray(out, dtype=bool)

    def dated(self, v: Any, other: Any) -> Any:
        """A text literal compared with a date column, as a date: ``release_date >= '2023-01-01'``."""
        if isinstance(v, str) and isinstance(other, np.ndarray) and other.dtype.kind == "M":
            try:
                return np.datetime64(pd.Timestamp(v).tz_localize(None), "ns")
            except ValueError:
                raise self.fail(f"{v!r} is not a date (write YYYY-MM-DD).") from None
        return v

    def kinds(self, col: np.ndarray, literal: Any, node: ast.expr, symbol: str) -> None:
        """Refuse text compared with a numeric column (pandas would quietly answer False for every row)."""
        if col.dtype.kind == "M" and isinstance(literal, np.datetime64):
            return
        numeric_col = col.dtype != object
        numeric_lit = isinstance(literal, (int, float, np.datetime64))
        if numeric_col != numeric_lit:
            kind = "numbers" if numeric_col else "text"
            raise self.fail(
                f"column {ast.unparse(node).strip('`')!r} holds {kind}, compared ('{symbol}') with {literal!r}. "
                f"{'Drop the quotes' if numeric_col else 'Quote the value'}."
            )
