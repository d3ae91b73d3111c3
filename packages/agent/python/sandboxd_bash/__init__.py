"""A Jupyter kernel that keeps one interactive bash alive, so cwd and variables persist."""
