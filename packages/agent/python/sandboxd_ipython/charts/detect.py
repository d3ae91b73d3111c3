"""Chart type of one Axes, from the kinds of artists drawn on it."""

from matplotlib.collections import PathCollection
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle, Wedge
from matplotlib.text import Text

from .boxes import is_line_box_plot


def data_artists(ax):
    """Artists that carry data: lines, collections and patches other than the background."""
    artists = []
    for artist in ax.get_children():
        if isinstance(artist, Text) or artist is ax.patch:
            continue
        if artist in ax.lines or artist in ax.collections or artist in ax.patches:
            artists.append(artist)
    return artists


def chart_type(ax):
    artists = data_artists(ax)
    if not artists:
        return "unknown"
    if all(isinstance(a, Line2D) for a in artists):
        # A default boxplot (patch_artist=False) draws its boxes as closed lines.
        return "box_and_whisker" if is_line_box_plot(ax) else "line"
    if all(isinstance(a, (PathPatch, Line2D)) for a in artists):
        return "box_and_whisker"
    if all(isinstance(a, PathCollection) for a in artists):
        return "scatter"
    if all(isinstance(a, Wedge) for a in artists):
        return "pie"
    if all(isinstance(a, Rectangle) for a in artists):
        return "bar"
    return "unknown"
