"""The stack stage: several layers of one model built together, on disk, and the lineage between them."""

from autointerp.stack.folder import Stack, build_stack

__all__ = ["Stack", "build_stack"]
