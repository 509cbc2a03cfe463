"""MkDocs hook: generate ``api/functions.md``, the table of every public function and its arguments.

The table is built at every build from the code itself (griffe reads the sources statically, without
importing JAX), so it can never go stale: one section per subpackage, in the layer order of the data
path, listing each name in the subpackage's ``__all__`` that is a function, with its arguments as
they are declared (``*`` marks where keyword-only arguments begin), where it is also exported at the
top level (``scaling.NAME``), and the first line of its docstring. Each name links to its entry in
the API reference, so a name that the reference does not render fails the strict build.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("models", "data", "infer", "analysis", "planning", "plots", "studies")
PAGE = "api/functions.md"
DEFAULT_MAX = 40  # characters of a default value shown before it is cut with an ellipsis


def _argument(param: griffe.Parameter) -> str:
    """One argument as declared: ``name``, ``name=default``, ``*args`` or ``**kwargs``."""
    kind = param.kind.value if param.kind is not None else ""
    if kind == "variadic positional":
        return f"*{param.name}"
    if kind == "variadic keyword":
        return f"**{param.name}"
    if param.default is None:
        return param.name
    default = str(param.default)
    if len(default) > DEFAULT_MAX:
        default = default[: DEFAULT_MAX - 1] + "…"
    return f"{param.name}={default}"


def signature(function: griffe.Function) -> str:
    """The arguments of ``function`` joined as in its ``def`` line, ``/`` and ``*`` markers included."""
    parts: list[str] = []
    star_done = False
    params = [p for p in function.parameters if p.name not in ("self", "cls")]
    for i, param in enumerate(params):
        kind = param.kind.value if param.kind is not None else ""
        if kind == "keyword-only" and not star_done:
            parts.append("*")
            star_done = True
        if kind == "variadic positional":
            star_done = True
        parts.append(_argument(param))
        nxt = params[i + 1].kind.value if i + 1 < len(params) and params[i + 1].kind is not None else ""
        if kind == "positional-only" and nxt != "positional-only":
            parts.append("/")
    return ", ".join(parts)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(obj: griffe.Object) -> str:
    doc = obj.docstring.value.strip() if obj.docstring else ""
    first = doc.split("\n\n")[0].replace("\n", " ").strip()
    return _cell(first)


def table(root: Path = ROOT) -> str:
    """The page's Markdown."""
    package = griffe.load("scaling", search_paths=[str(root)], resolve_aliases=True)
    top, top_modules = {}, {}
    for name in package.exports or []:
        target = _target(package, name)
        top[target.path] = str(name)
        if target.is_module:
            top_modules[str(name)] = target.path
    lines = [
        "# Public functions",
        "",
        "Every public function of each subpackage (the names in its `__all__`) with its arguments as",
        "declared: arguments after `*` are keyword-only. *Top level* gives the name under which",
        "`import scaling` exposes it too. Generated from the code at every build of these pages.",
        "",
    ]
    # top-level names from the base modules (runtime, io, ...) first, then each subpackage's
    in_subpackages = tuple(f"scaling.{sub}." for sub in SUBPACKAGES)
    base = [str(n) for n in package.exports or [] if not _target(package, n).path.startswith(in_subpackages)]
    sections = [("scaling", package, base)]
    for sub in SUBPACKAGES:
        names = [str(n) for n in package[sub].exports or []]
        sections.append((f"scaling.{sub}", package[sub], names))
        # a module a subpackage exports (scaling.data.registry, also scaling.datasets) gets its own section
        for name in names:
            target = _target(package[sub], name)
            if target.is_module:
                also = [f"`scaling.{k}`" for k, path in top_modules.items() if path == target.path]
                title = target.path + (f" (also {', '.join(also)})" if also else "")
                sections.append((title, target, [str(n) for n in target.exports or []]))
    for title, module, names in sections:
        rows = []
        for name in names:
            target = _target(module, name)
            if not target.is_function:
                continue
            link = f"[`{name}`][{target.path}]"
            args = f"`{_cell(signature(target))}`" if target.parameters else ""
            at_top = f"`scaling.{top[target.path]}`" if target.path in top else ""
            via = [k for k, path in top_modules.items() if path == module.path and path != f"scaling.{k}"]
            if not at_top and via:
                at_top = f"`scaling.{via[0]}.{name}`"
            rows.append(f"| {link} | {args} | {at_top} | {_summary(target)} |")
        if not rows:
            continue
        lines += [f"## {title}", "", "| function | arguments | top level | what it does |", "|---|---|---|---|"]
        lines += rows + [""]
    return "\n".join(lines) + "\n"


def _target(module: griffe.Object, name: object) -> griffe.Object:
    """The object a module's exported ``name`` stands for (through import aliases)."""
    member = module[str(name)]
    return member.final_target if member.is_alias else member


def on_files(files: Files, config) -> Files:
    """Add the generated page to the site."""
    files.append(File.generated(config, PAGE, content=table()))
    return files


# The docstrings cross-reference in Sphinx roles (:func:`fit`, :class:`~scaling.Model`), which
# Markdown renders as a literal role name before the code span: drop the role and, for ``~``, keep
# the last component, as Sphinx shows it.
_ROLE = re.compile(r":(?:py:)?(?:func|class|data|mod|meth|attr|obj|exc|const):(?=<code>)")
_TILDE = re.compile(r"<code>~(?:[\w]+\.)*([\w]+)</code>")


def on_page_content(html: str, **kwargs) -> str:
    """Render Sphinx cross-reference roles in docstrings as plain code spans, and drop the reST
    ``::`` that introduces a literal block (Markdown shows the indented block as code already)."""
    return _TILDE.sub(r"<code>\1</code>", _ROLE.sub("", html)).replace("::</p>", ":</p>")
