"""sandboxd's Java kernel: an ipykernel wrapper around JShell (see ``kernel.py``)."""
