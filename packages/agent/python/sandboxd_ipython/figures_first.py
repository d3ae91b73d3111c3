"""Shows a cell's pending matplotlib figures before the value of its last expression.

With the inline backend, figures are published after the cell (post_execute), so a cell ending in
``plt.title("t")`` would yield ``Text(0.5, 1.0, 't')`` first and the chart second. Clients read
``results[0]`` as the chart, so when the value about to be displayed is a matplotlib object, the
pending figures are flushed first; the value itself is still displayed after them.
"""


def _is_matplotlib_value(value):
    if isinstance(value, (list, tuple)) and value:
        value = value[0]
    return type(value).__module__.startswith("matplotlib")


def _flush_pending_figures():
    try:
        from matplotlib_inline.backend_inline import flush_figures
    except ImportError:  # pragma: no cover - no inline backend, nothing pending
        return
    flush_figures()


def install(ipython):
    base = type(ipython.displayhook)
    if getattr(base, "_sandboxd_figures_first", False):
        return

    class FiguresFirstDisplayHook(base):
        _sandboxd_figures_first = True

        def __call__(self, result=None):
            if result is not None and _is_matplotlib_value(result):
                _flush_pending_figures()
            return super().__call__(result)

    ipython.displayhook.__class__ = FiguresFirstDisplayHook
