"""ClientConfig.hello_extensions(): the ClientHello extensions a config alone decides, encoded
once per config, following every field they come from (a replace() starts afresh)."""

from __future__ import annotations

import dataclasses

from nautilus_tls.config import ClientConfig
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, NamedGroup, PskKeyExchangeMode
from nautilus_tls.wire.messages import Extension


def _types(exts: tuple[Extension, ...]) -> list[int]:
    return [e.ext_type for e in exts]


def test_hello_extensions_are_encoded_once_per_config() -> None:
    config = ClientConfig(alpn_protocols=(b"h2",))
    first = config.hello_extensions()
    assert config.hello_extensions() is first
    before, after = first
    assert _types(before) == [ExtensionType.supported_versions, ExtensionType.supported_groups]
    assert _types(after) == [
        ExtensionType.signature_algorithms,
        ExtensionType.signature_algorithms_cert,
        ExtensionType.psk_key_exchange_modes,
        ExtensionType.application_layer_protocol_negotiation,
    ]
    assert ext.decode_supported_groups(before[1].data) == config.groups


def test_a_replaced_config_encodes_its_own_fields() -> None:
    config = ClientConfig(alpn_protocols=(b"h2",))
    config.hello_extensions()
    changed = dataclasses.replace(
        config,
        groups=(NamedGroup.x25519,),
        key_share_groups=(NamedGroup.x25519,),
        alpn_protocols=(),
        psk_modes=(PskKeyExchangeMode.psk_ke, PskKeyExchangeMode.psk_dhe_ke),
    )
    before, after = changed.hello_extensions()
    assert ext.decode_supported_groups(before[1].data) == (NamedGroup.x25519,)
    assert ExtensionType.application_layer_protocol_negotiation not in _types(after)
    assert ext.decode_psk_key_exchange_modes(after[2].data) == (
        PskKeyExchangeMode.psk_ke,
        PskKeyExchangeMode.psk_dhe_ke,
    )


def test_the_cache_is_not_part_of_the_config() -> None:
    config = ClientConfig()
    fresh = dataclasses.replace(config)
    config.hello_extensions()
    assert "_hello_extensions" not in repr(config)
    assert config == fresh  # one with its extensions encoded, one without
