"""Exceptions the library raises on bad input, so callers (CLI, dashboard) can show a clear message."""


class AutoInterpError(Exception):
    """Base class: the message is written for a user, not a developer."""


class InputError(AutoInterpError, ValueError):
    """The caller gave something we cannot work with (empty text, wrong shape, bad id)."""


class ModelLoadError(AutoInterpError):
    """A model name, path, layer or site could not be resolved."""


class CentroidFileError(AutoInterpError):
    """A centroids file is missing, corrupt or not ours."""


class CorpusError(AutoInterpError):
    """A corpus could not be read or holds no usable text."""


class WorkspaceError(AutoInterpError):
    """A workspace folder is missing, incomplete or from another version."""


class LLMError(AutoInterpError):
    """An LLM call failed or answered something we could not parse; never turned into a score.

    `reason` is a short kind ("unreachable", "HTTP 500", "unreadable answer", ...) so many failures can be
    reported grouped, each group with its first full message."""

    def __init__(self, message: str, reason: str = "LLM error"):
        super().__init__(message)
        self.reason = reason
