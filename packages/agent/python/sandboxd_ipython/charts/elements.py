"""Data elements of each chart type, read back from the artists matplotlib drew."""

from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle, Wedge

from ..jsonable import round_number
from .axis import tick_label_at, value_on
from .boxes import box_bounds, box_orientation, two_point_segments


def _default_label(label, prefix, index):
    if not label or label.startswith("_"):
        return f"{prefix} {index}"
    return label


def line_elements(ax, x_scale, y_scale):
    elements = []
    for index, line in enumerate(ax.lines):
        xs, ys = line.get_xdata(orig=True), line.get_ydata(orig=True)
        points = [[value_on(x_scale, x), value_on(y_scale, y)] for x, y in zip(xs, ys)]
        elements.append({"label": _default_label(line.get_label(), "Line", index), "points": points})
    return elements


def scatter_elements(ax, x_scale, y_scale):
    elements = []
    for index, collection in enumerate(c for c in ax.collections if isinstance(c, PathCollection)):
        points = [[value_on(x_scale, x), value_on(y_scale, y)] for x, y in collection.get_offsets()]
        elements.append({"label": _default_label(collection.get_label(), "Scatter", index), "points": points})
    return elements


def _is_horizontal(container, rects):
    orientation = getattr(container, "orientation", None)
    if orientation is not None:
        return orientation == "horizontal"
    heights = {round(r.get_height(), 9) for r in rects}
    widths = {round(r.get_width(), 9) for r in rects}
    return len(heights) == 1 and len(widths) > 1


def bar_elements(ax):
    """Returns (elements, horizontal); a group is one bar container (one ``bar()`` call)."""
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    if not containers:
        containers = [[p for p in ax.patches if isinstance(p, Rectangle)]]
    elements, horizontal = [], False
    for index, container in enumerate(containers):
        rects = list(container)
        horizontal = _is_horizontal(container, rects)
        group = _default_label(getattr(container, "get_label", lambda: "")(), "Group", index)
        for rect in rects:
            if horizontal:
                position, value = rect.get_y() + rect.get_height() / 2, rect.get_width()
                label = tick_label_at(ax.yaxis, position)
            else:
                position, value = rect.get_x() + rect.get_width() / 2, rect.get_height()
                label = tick_label_at(ax.xaxis, position)
            elements.append({"label": label, "group": group, "value": round_number(value)})
    return elements, horizontal


def pie_elements(ax):
    elements = []
    for index, wedge in enumerate(p for p in ax.patches if isinstance(p, Wedge)):
        elements.append(
            {
                "label": _default_label(wedge.get_label(), "Slice", index),
                "angle": round_number(abs(wedge.theta2 - wedge.theta1)),
                "radius": round_number(wedge.r),
            }
        )
    return elements


def box_elements(ax):
    """One element per box: quartiles from the box, whiskers, median and outliers from lines."""
    lines = [line for line in ax.lines if isinstance(line, Line2D)]
    elements = []
    segments = two_point_segments(ax)
    for x0, x1, y0, y1 in box_bounds(ax):
        vertical = box_orientation(segments, x0, x1, y0, y1) != "horizontal"
        if vertical:
            center, low, high, axis, value_axis = (x0 + x1) / 2, y0, y1, ax.xaxis, 1
        else:
            center, low, high, axis, value_axis = (y0 + y1) / 2, x0, x1, ax.yaxis, 0
        lo_whisker, hi_whisker, median, outliers = low, high, None, []
        left, right = (x0, x1) if vertical else (y0, y1)
        for line in lines:
            data = line.get_xydata()
            if len(data) == 0:
                continue
            pos, val = data[:, 1 - value_axis], data[:, value_axis]
            if line.get_linestyle() in ("None", "none", "", " "):
                if all(left - 1e-9 <= p <= right + 1e-9 for p in pos):
                    outliers.extend(round_number(v) for v in val)
            elif len(data) == 2 and all(abs(p - center) < 1e-9 for p in pos):
                lo_whisker = min(lo_whisker, float(val.min()))
                hi_whisker = max(hi_whisker, float(val.max()))
            elif len(data) == 2 and val[0] == val[1] and low <= val[0] <= high and _spans(pos, left, right):
                median = float(val[0])
        elements.append(
            {
                "label": tick_label_at(axis, center),
                "min": round_number(lo_whisker),
                "first_quartile": round_number(low),
                "median": round_number(median if median is not None else (low + high) / 2),
                "third_quartile": round_number(high),
                "max": round_number(hi_whisker),
                "outliers": outliers,
            }
        )
    return elements


def _spans(positions, left, right):
    return abs(float(min(positions)) - left) < 1e-9 and abs(float(max(positions)) - right) < 1e-9
