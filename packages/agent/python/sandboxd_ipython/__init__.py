"""IPython extension loaded into every sandboxd Python kernel.

Registers the formatters E2B clients expect: ``e2b/chart`` for matplotlib figures,
``e2b/data`` for pandas DataFrames and a numpy-safe ``application/json`` for dicts and lists, and
shows pending figures before a matplotlib return value (``figures_first``), and shows the PIL
images a cell saves or shows (``images``).
"""


def load_ipython_extension(ipython):
    from .figures_first import install
    from .formatters import register
    from .images import install as install_images

    register(ipython)
    install(ipython)
    install_images()


def unload_ipython_extension(ipython):  # pragma: no cover - nothing to undo between cells
    pass
