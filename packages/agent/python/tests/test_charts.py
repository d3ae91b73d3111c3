"""Chart extractor tests: run with `python3 -m unittest discover -s tests` from packages/agent/python."""

import datetime as dt
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sandboxd_ipython.charts import figure_to_chart  # noqa: E402

POINT_KEYS = {
    "type", "title", "elements", "x_label", "y_label", "x_unit", "y_unit",
    "x_ticks", "x_tick_labels", "x_scale", "y_ticks", "y_tick_labels", "y_scale",
}
TWO_D_KEYS = {"type", "title", "elements", "x_label", "y_label", "x_unit", "y_unit"}


class ChartTest(unittest.TestCase):
    def tearDown(self):
        plt.close("all")

    def chart(self, fig):
        chart = figure_to_chart(fig)
        json.dumps(chart)  # must be plain JSON
        return chart

    def test_line_chart_has_every_key_and_points(self):
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [4, 5, 6], label="speed")
        ax.plot([1, 2, 3], [1, 1, 1])
        ax.set_title("Run")
        ax.set_xlabel("Time (s)")
        ax.set_ylabel("Distance [m]")
        chart = self.chart(fig)
        self.assertEqual(set(chart), POINT_KEYS)
        self.assertEqual(chart["type"], "line")
        self.assertEqual(chart["title"], "Run")
        self.assertEqual((chart["x_unit"], chart["y_unit"]), ("s", "m"))
        self.assertEqual(chart["x_scale"], "linear")
        self.assertEqual(chart["elements"][0], {"label": "speed", "points": [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]})
        self.assertEqual(chart["elements"][1]["label"], "Line 1")
        self.assertEqual(len(chart["x_ticks"]), len(chart["x_tick_labels"]))

    def test_empty_labels_are_null(self):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        chart = self.chart(fig)
        self.assertIsNone(chart["title"])
        self.assertIsNone(chart["x_label"])
        self.assertIsNone(chart["x_unit"])

    def test_scatter(self):
        fig, ax = plt.subplots()
        ax.scatter([1, 2], [3, 4], label="pts")
        chart = self.chart(fig)
        self.assertEqual(chart["type"], "scatter")
        self.assertEqual(set(chart), POINT_KEYS)
        self.assertEqual(chart["elements"], [{"label": "pts", "points": [[1.0, 3.0], [2.0, 4.0]]}])

    def test_log_and_datetime_scales(self):
        fig, ax = plt.subplots()
        days = [dt.datetime(2024, 1, d) for d in (1, 2, 3)]
        ax.plot(days, [1, 10, 100])
        ax.set_yscale("log")
        chart = self.chart(fig)
        self.assertEqual(chart["x_scale"], "datetime")
        self.assertEqual(chart["y_scale"], "log")
        self.assertTrue(chart["elements"][0]["points"][0][0].startswith("2024-01-01"))
        self.assertTrue(all(isinstance(t, str) for t in chart["x_ticks"]))

    def test_categorical_axis(self):
        fig, ax = plt.subplots()
        ax.plot(["a", "b", "c"], [1, 2, 3])
        chart = self.chart(fig)
        self.assertEqual(chart["x_scale"], "categorical")
        self.assertEqual(chart["x_tick_labels"], ["a", "b", "c"])

    def test_bar_chart_groups(self):
        fig, ax = plt.subplots()
        ax.bar(["x", "y"], [3, 5], label="2023")
        ax.set_xlabel("Item")
        chart = self.chart(fig)
        self.assertEqual(set(chart), TWO_D_KEYS)
        self.assertEqual(chart["type"], "bar")
        self.assertEqual(
            chart["elements"],
            [{"label": "x", "group": "2023", "value": 3.0}, {"label": "y", "group": "2023", "value": 5.0}],
        )

    def test_horizontal_bar_swaps_orientation(self):
        fig, ax = plt.subplots()
        ax.barh(["p", "q"], [2, 7])
        ax.set_xlabel("Value")
        ax.set_ylabel("Name")
        chart = self.chart(fig)
        self.assertEqual([e["label"] for e in chart["elements"]], ["p", "q"])
        self.assertEqual([e["value"] for e in chart["elements"]], [2.0, 7.0])
        self.assertEqual(chart["elements"][0]["group"], "Group 0")
        self.assertEqual((chart["x_label"], chart["y_label"]), ("Name", "Value"))

    def test_pie(self):
        fig, ax = plt.subplots()
        ax.pie([1, 3], labels=["one", "three"])
        chart = self.chart(fig)
        self.assertEqual(set(chart), {"type", "title", "elements"})
        self.assertEqual(chart["type"], "pie")
        self.assertEqual([e["label"] for e in chart["elements"]], ["one", "three"])
        self.assertAlmostEqual(chart["elements"][0]["angle"], 90.0)
        self.assertEqual(chart["elements"][0]["radius"], 1.0)

    def test_box_and_whisker(self):
        fig, ax = plt.subplots()
        ax.boxplot([[1, 2, 3, 4, 5, 20], [2, 3, 4]], patch_artist=True, tick_labels=["a", "b"])
        chart = self.chart(fig)
        self.assertEqual(chart["type"], "box_and_whisker")
        self.assertEqual(set(chart), TWO_D_KEYS)
        first = chart["elements"][0]
        self.assertEqual(first["label"], "a")
        self.assertEqual(first["median"], 3.5)
        self.assertEqual(first["min"], 1.0)
        self.assertEqual(first["max"], 5.0)
        self.assertEqual(first["outliers"], [20.0])
        self.assertEqual((first["first_quartile"], first["third_quartile"]), (2.25, 4.75))

    def test_default_box_plot_is_box_and_whisker(self):
        # patch_artist=False (the default) draws boxes as closed lines, not patches.
        fig, ax = plt.subplots()
        ax.boxplot([[85, 90, 78, 92, 88], [95, 89, 76, 91, 84, 87], [1, 2, 3, 4, 5, 20]], tick_labels=["A", "B", "C"])
        ax.set_title("Scores")
        ax.set_xlabel("Class")
        chart = self.chart(fig)
        self.assertEqual(chart["type"], "box_and_whisker")
        self.assertEqual(chart["title"], "Scores")
        self.assertEqual(chart["x_label"], "Class")
        self.assertEqual([e["label"] for e in chart["elements"]], ["A", "B", "C"])
        a = chart["elements"][0]
        self.assertEqual((a["min"], a["first_quartile"], a["median"], a["third_quartile"], a["max"]), (78.0, 85.0, 88.0, 90.0, 92.0))
        self.assertEqual(chart["elements"][2]["outliers"], [20.0])

    def test_horizontal_default_box_plot(self):
        fig, ax = plt.subplots()
        ax.boxplot([[1, 2, 3, 4, 5]], orientation="horizontal", tick_labels=["h"]) if _mpl_has_orientation() else ax.boxplot([[1, 2, 3, 4, 5]], vert=False, tick_labels=["h"])
        chart = self.chart(fig)
        self.assertEqual(chart["type"], "box_and_whisker")
        h = chart["elements"][0]
        self.assertEqual(h["label"], "h")
        self.assertEqual((h["min"], h["median"], h["max"]), (1.0, 3.0, 5.0))

    def test_a_plotted_rectangle_is_still_a_line_chart(self):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0])
        ax.plot([0.5, 0.5], [0.2, 0.8])  # inside the rectangle: not a whisker
        self.assertEqual(self.chart(fig)["type"], "line")

    def test_superchart(self):
        fig, (left, right) = plt.subplots(1, 2)
        left.plot([1, 2], [1, 2])
        right.bar(["a"], [1])
        fig.suptitle("Both")
        chart = self.chart(fig)
        self.assertEqual(chart["type"], "superchart")
        self.assertEqual(chart["title"], "Both")
        self.assertEqual([c["type"] for c in chart["elements"]], ["line", "bar"])

    def test_blank_figure_has_no_chart(self):
        fig = plt.figure()
        self.assertIsNone(figure_to_chart(fig))


def _mpl_has_orientation():
    import inspect

    return "orientation" in inspect.signature(plt.Axes.boxplot).parameters


class FormatterTest(unittest.TestCase):
    def test_dataframe_data_is_column_lists_with_iso_timestamps(self):
        import pandas as pd

        from sandboxd_ipython.formatters import dataframe_data

        frame = pd.DataFrame({"n": [1, 2], "t": pd.to_datetime(["2024-01-01", "2024-01-02"]), "f": [0.5, float("nan")]})
        data = dataframe_data(frame)
        json.dumps(data)
        self.assertEqual(data["n"], [1, 2])
        self.assertEqual(data["t"][0], "2024-01-01T00:00:00")
        self.assertEqual(data["f"], [0.5, None])

    def test_json_formatter_handles_numpy(self):
        import numpy as np

        from sandboxd_ipython.formatters import json_data

        self.assertEqual(json_data({"a": np.int64(3), "b": np.array([1.5, 2.0])}), {"a": 3, "b": [1.5, 2.0]})


if __name__ == "__main__":
    unittest.main()
