"""PIL images a cell saves or shows appear in its results, as in E2B's image.

``Image.save(path)`` displays the image before writing it (E2B's behaviour: an agent that saves a
picture to a file still gets to see it), and ``Image.show()`` displays it in the cell's output
instead of looking for a desktop viewer that a sandbox does not have.
"""

import os


def _display(image):
    from IPython.display import display

    display(image)


def install():
    try:
        from PIL import Image, ImageShow
    except ImportError:  # a template without Pillow: nothing to show
        return
    if getattr(Image.Image.save, "_sandboxd_displays", False):
        return
    original_save = Image.Image.save

    def save(self, fp, format=None, **params):
        if isinstance(fp, (str, os.PathLike)):
            _display(self)
        return original_save(self, fp, format, **params)

    save._sandboxd_displays = True
    save.__doc__ = original_save.__doc__
    Image.Image.save = save

    class CellViewer(ImageShow.Viewer):
        """Shows an image as a display in the running cell."""

        def show(self, image, **options):
            _display(image)
            return 1

    ImageShow.register(CellViewer, order=-1)
