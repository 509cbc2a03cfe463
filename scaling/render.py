"""Figures drawn in a child process, so that importing matplotlib and drawing overlap with a fit.

The CLI's ``scaling fit`` starts a :class:`Renderer` before it parses its options (the console
entry point, :func:`scaling.cli.main`) or at least before it imports JAX: the child imports
matplotlib and draws a throw-away figure (loading fonts, tick machinery and the PNG writer) on
another core while the parent imports JAX and fits. The parent then sends the figure's arrays
(:func:`scaling.plots.fit_curves`, a few kB), and the child draws them on its warm-up axes,
emptied (the pixels of a new figure), and writes the files (atomically,
:func:`scaling.plots.save_figure`) while the parent writes the fit; then it ends without
interpreter teardown. A failure in the child is raised in the parent with the child's traceback;
a parent that stops before sending (an invalid input) ends the child.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class Renderer:
    """A child process that draws one figure: ``send`` the arrays, ``wait`` for the files."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from scaling.render import serve; serve(end_process=True)"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._thread: threading.Thread | None = None
        self._result: tuple[bytes, bytes] = (b"", b"")

    def send(self, curves: Mapping[str, Any], path: str | Path, formats: Sequence[str]) -> None:
        """Have the child draw the fit figure of ``curves`` (:func:`scaling.plots.fit_curves`) and save
        it as ``path`` with each suffix in ``formats``. Returns at once (the child may still be
        importing matplotlib)."""
        payload = pickle.dumps((dict(curves), str(path), tuple(formats)))

        def talk() -> None:
            self._result = self._proc.communicate(payload)

        self._thread = threading.Thread(target=talk, daemon=True)
        self._thread.start()

    def wait(self) -> list[str]:
        """The files the child wrote; a RuntimeError with the child's traceback if it failed."""
        if self._thread is None:
            raise RuntimeError("Renderer.wait() before send().")
        self._thread.join()
        out, err = self._result
        if self._proc.returncode != 0:
            raise RuntimeError(f"Drawing the figure failed (exit {self._proc.returncode}):\n{err.decode()[-3000:]}")
        return json.loads(out.decode().strip().splitlines()[-1])

    def close(self) -> None:
        """End the child if it is still running (nothing was sent, or the parent stops early)."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _warm_up() -> Any:
    """Draw and rasterise a figure like the fit figure (log axes, bands, legend, layout) at the
    resolution :func:`scaling.plots.save_figure` writes, and load the PNG writer, so that the real
    one finds matplotlib's fonts, glyphs and tick machinery ready (0.3 s instead of 0.9 s on 2
    cores; encoding a PNG here too would cost the parent's fit 0.15 s of CPU for nothing).
    Returns its axes: the fit figure is drawn on them once :func:`_emptied`, which keeps their tick
    objects (the pixels are those of a new figure)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import PngImagePlugin  # noqa: F401  (what savefig writes PNG with)

    from . import plots

    grid = np.logspace(18, 23, 50)
    curve = 3.0 * (grid / 1e18) ** -0.1
    bands = [(p, curve * (1 - p / 10), curve * (1 + p / 10)) for p in (0.95, 0.5)]
    curves = {"kind": "curve", "x": grid[::5], "y": curve[::5], "grid": grid, "bands": bands, "median": curve}
    curves |= {"band_label": "predictive", "log_x": True, "log_y": True, "extrapolated": (1e22, 1e23)}
    curves |= {"xlabel": "flop", "ylabel": "loss", "title": "power_law: y = A * x^(-alpha)"}
    fig = plots.draw_fit(curves)
    dpi, fig.dpi = fig.dpi, plots.DPI
    FigureCanvasAgg(fig).draw()
    fig.dpi = dpi
    return fig.axes[0]


def _emptied(ax: Any) -> Any:
    """``ax`` without what :func:`scaling.plots.draw_fit` drew on it: artists, legend, labels, scales
    and data limits, as on new axes. Unlike ``Axes.cla`` it keeps the tick objects, whose creation
    is a fifth of drawing the figure."""
    from matplotlib.transforms import Bbox

    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
        artist.remove()
    ax.containers.clear()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_xscale("linear")
    ax.set_yscale("linear")
    ax.set(title="", xlabel="", ylabel="")
    ax.dataLim.set(Bbox.null())
    ax.ignore_existing_data_limits = True
    ax.set_position(ax.get_subplotspec().get_position(ax.figure))  # where the layout starts from,
    ax.set_in_layout(True)  # which set_position took the axes out of
    return ax


def serve(end_process: bool = False) -> None:
    """The child: warm matplotlib up, read the fit figure's arrays from stdin, draw and save it, print
    the files written; with ``end_process``, then end the process at once (tearing down an interpreter
    that loaded matplotlib takes 0.1 s, which the parent would wait for).

    It runs at a lower priority (``os.nice``), so that it takes only the CPU the fit leaves idle: a
    NUTS fit samples (and compiles) on every core.
    """
    import os

    if hasattr(os, "nice"):
        os.nice(10)
    from . import plots

    ax = _warm_up()  # while the parent fits
    raw = sys.stdin.buffer.read()
    if not raw:  # the parent stopped before sending anything
        return
    curves, path, formats = pickle.loads(raw)
    fig = plots.draw_fit(curves, ax=_emptied(ax))
    print(json.dumps(plots.save_figure(fig, path, formats=formats)), flush=True)
    if end_process:
        os._exit(0)
