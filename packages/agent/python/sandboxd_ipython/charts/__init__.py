"""Describes matplotlib figures in E2B's chart schema (every key present, None when empty)."""

from .detect import chart_type
from .build import axes_chart


def figure_to_chart(figure):
    """Returns the chart dict of ``figure``, or None for a figure without data."""
    axes = [ax for ax in figure.get_axes() if ax.has_data()]
    if not axes:
        return None
    if len(figure.get_axes()) > 1:
        suptitle = getattr(figure, "_suptitle", None)
        title = suptitle.get_text() if suptitle is not None else ""
        return {
            "type": "superchart",
            "title": title or None,
            "elements": [axes_chart(ax, chart_type(ax)) for ax in axes],
        }
    return axes_chart(axes[0], chart_type(axes[0]))


__all__ = ["figure_to_chart", "chart_type", "axes_chart"]
