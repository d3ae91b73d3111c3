"""Assembles the chart dict of one Axes for each chart type."""

from .axis import axis_labels, axis_ticks
from .elements import bar_elements, box_elements, line_elements, pie_elements, scatter_elements


def axes_chart(ax, kind):
    chart = {"type": kind, "title": ax.get_title() or None, "elements": []}
    if kind in ("line", "scatter"):
        chart.update(axis_labels(ax))
        chart.update(axis_ticks(ax))
        build = line_elements if kind == "line" else scatter_elements
        chart["elements"] = build(ax, chart["x_scale"], chart["y_scale"])
    elif kind == "bar":
        chart.update(axis_labels(ax))
        elements, horizontal = bar_elements(ax)
        if horizontal:
            chart["x_label"], chart["y_label"] = chart["y_label"], chart["x_label"]
            chart["x_unit"], chart["y_unit"] = chart["y_unit"], chart["x_unit"]
        chart["elements"] = elements
    elif kind == "box_and_whisker":
        chart.update(axis_labels(ax))
        chart["elements"] = box_elements(ax)
    elif kind == "pie":
        chart["elements"] = pie_elements(ax)
    return chart
