"""The codec's own limits: what the decoders refuse before they decode.

They live in the wire layer because the decoders need them and the wire layer sits under
``nautilus_tls.defaults`` (which imports the code points); ``defaults`` re-exports them, so
it stays the one place to read every limit.
"""

from __future__ import annotations

from typing import Final

# Code points in one list a peer sends (cipher suites, groups, signature schemes, versions,
# key shares): a longer list is refused with decode_error before it is decoded. Real clients
# send a few dozen; 32,000 unknown ones would only cost CPU before authentication.
MAX_LIST_ENTRIES: Final = 1024
