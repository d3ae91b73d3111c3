"""PIL images a cell saves or shows are displayed (sandboxd_ipython.images)."""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from PIL import Image, ImageShow  # noqa: E402

from sandboxd_ipython import images  # noqa: E402


class ImagesTest(unittest.TestCase):
    def setUp(self):
        self.shown = []
        self._original = images._display
        images._display = self.shown.append
        images.install()

    def tearDown(self):
        images._display = self._original

    def test_save_to_a_path_displays_then_writes(self):
        image = Image.new("RGB", (4, 4), "red")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "a.png")
            image.save(path)
            self.assertTrue(os.path.getsize(path) > 0)
        self.assertEqual(self.shown, [image])

    def test_save_to_a_file_object_does_not_display(self):
        import io

        Image.new("RGB", (4, 4)).save(io.BytesIO(), format="PNG")
        self.assertEqual(self.shown, [])

    def test_show_displays_once_without_a_viewer(self):
        image = Image.new("RGB", (4, 4), "blue")
        image.show()
        self.assertEqual(self.shown, [image])

    def test_install_twice_patches_once(self):
        images.install()
        viewers = [v for v in ImageShow._viewers if type(v).__name__ == "CellViewer"]
        self.assertEqual(len(viewers), 1)
        Image.new("RGB", (2, 2)).save(os.path.join(tempfile.gettempdir(), "sandboxd-twice.png"))
        self.assertEqual(len(self.shown), 1)


if __name__ == "__main__":
    unittest.main()
