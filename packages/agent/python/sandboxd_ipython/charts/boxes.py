"""Finds the boxes of a box plot, drawn either as patches (``patch_artist=True``) or, by default,
as closed rectangular lines, and tells a box plot from a line chart."""

from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch

_EPS = 1e-9


def _rectangle_bounds(xs, ys):
    """(x0, x1, y0, y1) when the points trace a closed axis-aligned rectangle, else None."""
    if len(xs) != 5 or abs(xs[0] - xs[-1]) > _EPS or abs(ys[0] - ys[-1]) > _EPS:
        return None
    distinct_x = sorted({round(float(x), 9) for x in xs})
    distinct_y = sorted({round(float(y), 9) for y in ys})
    if len(distinct_x) != 2 or len(distinct_y) != 2:
        return None
    # Each side moves along one axis only.
    for i in range(4):
        if abs(xs[i] - xs[i + 1]) > _EPS and abs(ys[i] - ys[i + 1]) > _EPS:
            return None
    return distinct_x[0], distinct_x[1], distinct_y[0], distinct_y[1]


def box_orientation(segments, x0, x1, y0, y1):
    """The box's orientation, ``"vertical"`` or ``"horizontal"``, read from its whiskers: two-point
    segments on its centre line that leave the box (a median can lie on the centre line too, but
    inside the box). None when it has no whisker."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    for data in segments:
        (ax_, ay), (bx, by) = data
        if abs(ax_ - cx) < _EPS and abs(bx - cx) < _EPS and (min(ay, by) >= y1 - _EPS or max(ay, by) <= y0 + _EPS):
            return "vertical"
        if abs(ay - cy) < _EPS and abs(by - cy) < _EPS and (min(ax_, bx) >= x1 - _EPS or max(ax_, bx) <= x0 + _EPS):
            return "horizontal"
    return None


def two_point_segments(ax):
    """The data of every two-point line of the Axes (whiskers, caps and medians of a box plot)."""
    return [line.get_xydata() for line in ax.lines if isinstance(line, Line2D) and len(line.get_xydata()) == 2]


def box_bounds(ax):
    """Bounds (x0, x1, y0, y1) of each box of the Axes, in drawing order."""
    patches = [p for p in ax.patches if isinstance(p, PathPatch)]
    if patches:
        bounds = []
        for patch in patches:
            vertices = patch.get_path().vertices
            xs, ys = vertices[:, 0], vertices[:, 1]
            bounds.append((float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())))
        return bounds
    segments = two_point_segments(ax)
    bounds = []
    for line in ax.lines:
        if not isinstance(line, Line2D):
            continue
        data = line.get_xydata()
        rect = _rectangle_bounds(data[:, 0], data[:, 1]) if len(data) == 5 else None
        if rect is not None and box_orientation(segments, *rect) is not None:
            bounds.append(rect)
    return bounds


def is_line_box_plot(ax):
    """True when the Axes' lines draw boxes with whiskers (a default ``boxplot``)."""
    return bool(box_bounds(ax))
