"""IPython display formatters for the MIME types E2B clients map onto result fields."""

from IPython.core.formatters import BaseFormatter
from traitlets import ObjectName, Unicode

from .jsonable import to_jsonable


class ChartFormatter(BaseFormatter):
    """``e2b/chart``: a matplotlib Figure described in E2B's chart schema."""

    format_type = Unicode("e2b/chart")
    _return_type = (dict,)
    print_method = ObjectName("_repr_e2b_chart_")

    def pop(self, typ, *default):
        # matplotlib-inline's select_figure_formats() pops Figure from every formatter when the
        # inline backend activates; the chart printer must survive that.
        if getattr(typ, "__module__", None) == "matplotlib.figure" and getattr(typ, "__name__", None) == "Figure":
            return default[0] if default else None
        return super().pop(typ, *default)


class DataFormatter(BaseFormatter):
    """``e2b/data``: a pandas DataFrame as ``{column: [values]}``."""

    format_type = Unicode("e2b/data")
    _return_type = (dict,)
    print_method = ObjectName("_repr_e2b_data_")


def figure_chart(figure):
    from .charts import figure_to_chart

    try:
        return figure_to_chart(figure)
    except Exception:  # a chart we cannot describe still shows as an image
        return None


def dataframe_data(frame):
    try:
        return to_jsonable(frame.to_dict(orient="list"))
    except Exception:
        return None


def json_data(value):
    try:
        return to_jsonable(value)
    except Exception:
        return None


def register(ipython):
    display = ipython.display_formatter
    chart = ChartFormatter(parent=display)
    chart.for_type_by_name("matplotlib.figure", "Figure", figure_chart)
    display.formatters[chart.format_type] = chart

    data = DataFormatter(parent=display)
    data.for_type_by_name("pandas.core.frame", "DataFrame", dataframe_data)
    display.formatters[data.format_type] = data

    json_formatter = display.formatters.get("application/json")
    if json_formatter is not None:
        json_formatter.for_type(dict, json_data)
        json_formatter.for_type(list, json_data)
