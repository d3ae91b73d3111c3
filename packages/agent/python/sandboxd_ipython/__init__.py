"""IPython extension loaded into every sandboxd Python kernel.

Registers the formatters E2B clients expect: ``e2b/chart`` for matplotlib figures,
``e2b/data`` for pandas DataFrames and a numpy-safe ``application/json`` for dicts and lists.
"""


def load_ipython_extension(ipython):
    from .formatters import register

    register(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover - nothing to undo between cells
    pass
