"""Conversion of Python/numpy/pandas values into plain JSON-serialisable data."""

import datetime as _dt
import math


def round_number(value, digits=8):
    """Rounds to ``digits`` significant digits; NaN and infinities become None."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None
    if value == 0:
        return 0.0
    return float(f"{value:.{digits}g}")


def to_jsonable(value):
    """Recursively converts ``value``; anything unknown becomes its ``str``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        if hasattr(value, "tolist"):
            if str(getattr(value, "dtype", "")).startswith("datetime64"):
                return _numpy_datetime(value)
            return to_jsonable(value.tolist())
    if module.startswith("pandas"):
        if hasattr(value, "isoformat"):
            try:
                return None if _is_nat(value) else value.isoformat()
            except ValueError:
                return None
        if hasattr(value, "tolist"):
            return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        try:
            return to_jsonable(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def _is_nat(value):
    return str(value) == "NaT"


def _numpy_datetime(value):
    import numpy as np

    if value.ndim == 0:
        return None if np.isnat(value) else str(np.datetime_as_string(value))
    return [_numpy_datetime(v) for v in value]
