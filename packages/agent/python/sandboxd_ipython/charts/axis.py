"""Axis facts shared by the 2-D charts: labels, units, ticks and scales."""

import datetime as _dt
import re

from ..jsonable import round_number

_UNIT = re.compile(r"\s\((.*?)\)|\[(.*?)\]")


def unit_of(label):
    if not label:
        return None
    match = _UNIT.search(label)
    if not match:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def _converter(axis):
    getter = getattr(axis, "get_converter", None)
    return getter() if getter is not None else getattr(axis, "converter", None)


def scale_of(ax, which):
    axis = ax.xaxis if which == "x" else ax.yaxis
    converter = _converter(axis)
    if converter is not None:
        name = type(converter).__name__
        if "Date" in name:
            return "datetime"
        if "Category" in name:
            return "categorical"
    scale = ax.get_xscale() if which == "x" else ax.get_yscale()
    if scale != "linear":
        return scale
    ticks = list(axis.get_ticklocs())
    labels = [t.get_text() for t in axis.get_ticklabels()]
    if ticks and all(float(t) == i for i, t in enumerate(ticks)):
        if any(label and label != str(i) for i, label in enumerate(labels)):
            return "categorical"
    return "linear"


def value_on(scale, value):
    """A data coordinate as the chart reports it: ISO string on date axes, else a rounded number."""
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    module = type(value).__module__ or ""
    if module.startswith("numpy") and str(getattr(value, "dtype", "")).startswith("datetime64"):
        import numpy as np

        return str(np.datetime_as_string(value))
    if isinstance(value, str):
        return value
    if scale == "datetime":
        from matplotlib.dates import num2date

        return num2date(float(value)).isoformat()
    try:
        return round_number(value)
    except (TypeError, ValueError):
        return str(value)


def axis_labels(ax):
    x_label = ax.get_xlabel() or None
    y_label = ax.get_ylabel() or None
    return {"x_label": x_label, "y_label": y_label, "x_unit": unit_of(x_label), "y_unit": unit_of(y_label)}


def axis_ticks(ax):
    facts = {}
    for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        scale = scale_of(ax, which)
        ticks = [value_on(scale, t) for t in axis.get_ticklocs()]
        labels = [t.get_text() for t in axis.get_ticklabels()]
        facts[f"{which}_ticks"] = ticks
        facts[f"{which}_tick_labels"] = labels
        facts[f"{which}_scale"] = scale
    return facts


def tick_label_at(axis, position):
    """Text of the tick nearest ``position`` on ``axis`` (used for bar and box labels)."""
    locs = list(axis.get_ticklocs())
    labels = [t.get_text() for t in axis.get_ticklabels()]
    if not locs or len(locs) != len(labels):
        return str(round_number(position))
    index = min(range(len(locs)), key=lambda i: abs(float(locs[i]) - float(position)))
    return labels[index] or str(round_number(position))
