"""What ``import nautilus_tls`` offers: the events and the errors a user catches, loaded on
first use."""

from __future__ import annotations

import nautilus_tls
from nautilus_tls import errors, events


def test_every_event_class_is_exported_from_the_root() -> None:
    event_classes = {
        name
        for name, value in vars(events).items()
        if isinstance(value, type) and issubclass(value, events.Event)
    }
    assert event_classes <= set(nautilus_tls.__all__)
    for name in event_classes:
        assert getattr(nautilus_tls, name) is getattr(events, name)


def test_the_errors_users_catch_are_exported_from_the_root() -> None:
    for name in ("TLSError", "ProtocolError", "ConfigError", "HandshakeTimeout"):
        assert name in nautilus_tls.__all__
        assert getattr(nautilus_tls, name) is getattr(errors, name)
