"""Errors that the command line reports as a single line (no traceback unless --debug)."""

from __future__ import annotations


class FacekeypointsError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""


class DataError(FacekeypointsError):
    """A data file that cannot be used. Row problems carry the file and line (header = line 1)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message, self.path, self.line = message, path, line
        where = ""
        if path is not None:
            where = f"{path}, line {line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class OutputExistsError(FacekeypointsError):
    """Refusing to overwrite an existing output without --force."""


# The extra (or package) that brings a module the command line found missing, as it says it.
EXTRA = "pip install 'facekeypoints[{0}]' (from a clone: pip install \".[{0}]\")".format
INSTALL_HINT = {"torch": EXTRA("train"), "onnx": EXTRA("train"), "onnxruntime": "pip install onnxruntime",
                "ray": EXTRA("ray"), "pyarrow": EXTRA("parquet"), **dict.fromkeys(
                    ("fastapi", "fastapi_offline", "uvicorn", "multipart", "python_multipart"), EXTRA("serve"))}
