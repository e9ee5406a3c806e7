"""What the plug-in tests do as the photographer: run an action, and read the one dialog it ends with."""
from __future__ import annotations

from .harness import Lightroom


def retouch(lr: Lightroom, photos, **dialog) -> None:
    """Select the photos, choose AI Retouch… and answer its dialog with OK (and these values)."""
    lr.select(photos)
    lr.answer_dialog("ok", **{"instruction": "", "strength": 100, "mode": "apply", **dialog})
    lr.run_menu("RetouchAction.lua")
    assert lr.uncaught == []


def closing(lr: Lightroom) -> dict:
    """The one message dialog an action ends with."""
    messages = lr.messages
    assert len(messages) == 1, messages
    return messages[0]
