"""kernelwright: an open, self-hostable AI CUDA engineer.

The import package ``kernelwright`` is laid out on disk under ``services/``:
``services/<name>/`` is ``kernelwright.<name>`` (see README.md, "Folder map").
"""

__version__ = "0.1.0"
