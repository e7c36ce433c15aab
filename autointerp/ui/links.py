"""Shareable views: what a page's address holds, read and written in one place.

The sentence page keeps `?text=…&workspace=…&token=…` (and a layer stack's `&layer=`, passed through
untouched) in its address; the centroid browser keeps `?centroid=…&workspace=…`. Reading is lenient: a malformed value
is dropped with a note, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Text longer than this stays out of the address: servers and proxies refuse very long request lines
# (commonly 8-16 KB) and a reload would fail. Such a view is shared by the HTML export instead.
MAX_LINK_TEXT = 4000

OWN_KEYS = ("text", "workspace", "token")  # what the sentence page writes; anything else is left as it is
# ...except what names the centroid browser's view: the sentence page removes it (it can ride along on Back
# from the browser, and a sentence address must not name a centroid it does not show)
OTHER_VIEW_KEYS = ("centroid",)


@dataclass(frozen=True)
class SentenceView:
    text: str | None = None
    workspace: str | None = None
    token: int | None = None
    layer: str | None = None  # a layer stack's layer, kept as given (its page decides what it means)
    problems: tuple[str, ...] = field(default=(), compare=False)


def _int(value: str | None, name: str, problems: list[str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        n = int(value)
    except ValueError:
        problems.append(f"the link's {name} {value!r} is not a number")
        return None
    if n < 0:
        problems.append(f"the link's {name} {n} is negative")
        return None
    return n


def read_sentence_view(params: Mapping[str, str]) -> SentenceView:
    problems: list[str] = []
    token = _int(params.get("token"), "token", problems)
    text = params.get("text") or None
    return SentenceView(text, params.get("workspace") or None, token, params.get("layer") or None, tuple(problems))


def sentence_params(text: str, workspace: str, token: int | None, layer: str | None = None) -> dict[str, str]:
    """The address of a sentence view. Text over MAX_LINK_TEXT characters is left out (see above)."""
    out: dict[str, str] = {}
    if text and len(text) <= MAX_LINK_TEXT:
        out["text"] = text
    if workspace:
        out["workspace"] = workspace
    if layer:
        out["layer"] = layer
    if token is not None and "text" in out:
        out["token"] = str(token)
    return out


def read_centroid(params: Mapping[str, str], k: int) -> tuple[int | None, str]:
    """The centroid a link names, or None and why it was ignored."""
    problems: list[str] = []
    cid = _int(params.get("centroid"), "centroid", problems)
    if cid is not None and cid >= k:
        return None, f"the link's centroid {cid} does not exist here (this workspace has 0..{k - 1})"
    return cid, "; ".join(problems)
