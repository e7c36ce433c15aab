"""nnsight's `.save` mount versus libraries that inspect classes when they are created.

nnsight 0.7 ("pymount") adds a `save` method to `object` itself on the first trace of a process, so every
class created afterwards lists `save` in `dir()`. anyio's `TypedAttributeSet` rejects any public attribute
without a type annotation, and anyio creates those classes lazily, on the first socket an async HTTP client
opens. An LLM call made after a trace therefore died with `TypeError: Attribute 'save' is missing its type
annotation`.

autointerp never needs the mount: it saves trace values with `nnsight.save()`. Two guards follow from that:
- processes autointerp owns (the CLI, the dashboard) switch the mount off before any model is loaded;
- a library user's process may keep the mount (their own traces may call `.save()`), so anyio's classes are
  created before autointerp runs its first trace, and an HTTP client that finds them uncreatable says why.
"""

from __future__ import annotations

import contextlib
import importlib

from autointerp.errors import LLMError

# The anyio modules that define TypedAttributeSet subclasses (anyio 4.x). The modules themselves, not the
# packages: since 4.16 `anyio` and `anyio.abc` only load their submodules when a name is first used.
ANYIO_CLASS_MODULES = ("anyio.abc._sockets", "anyio.streams.tls", "anyio.streams.file")
_ready = False


def disable_pymount() -> None:
    """For processes autointerp owns: nnsight never mounts `.save` onto `object`."""
    from nnsight import CONFIG

    CONFIG.APP.PYMOUNT = False


def save_is_mounted() -> bool:
    return "save" in vars(object)


def prepare_async_http() -> None:
    """Create anyio's typed-attribute classes now. Raises LLMError when a trace mounted `.save` first."""
    global _ready
    if _ready:
        return
    try:
        for name in ANYIO_CLASS_MODULES:
            importlib.import_module(name)
    except TypeError as exc:
        if not save_is_mounted():
            raise
        raise LLMError(
            "async HTTP cannot start in this process: an nnsight trace ran before autointerp was imported and "
            "mounted `.save` onto every object, which anyio rejects. Import autointerp before your first trace, "
            "or set nnsight.CONFIG.APP.PYMOUNT = False and save values with nnsight.save()",
            reason="nnsight .save mount",
        ) from exc
    _ready = True


def prepare_before_trace() -> None:
    """Called before each trace autointerp runs; after the first success it costs one flag check."""
    if not _ready:
        # When a user's earlier trace mounted `.save`, the HTTP clients report it if they are ever used.
        with contextlib.suppress(LLMError):
            prepare_async_http()
