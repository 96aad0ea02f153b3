"""Decentralized identifiers (DIDs) for peer authentication: ``did:key`` and ``did:web``.

A DID names a key pair without a certificate authority. ``did:key`` carries the public key
itself (multicodec + multibase base58btc, W3C CCG did:key); ``did:web`` names a DID document
served over HTTPS. Modules, lowest first:

* ``errors``: :class:`~.errors.DidError` and its kinds;
* ``multiformats``: unsigned varints and multibase base58btc (the ``base58`` package);
* ``key``: ``did:key`` encode/decode, key types and their multicodec codes;
* ``document``: DID documents: the keys listed under ``authentication``;
* ``web``: the ``did:web`` resolver, over our own blocking TLS client (:mod:`nautilus_tls.sync`);
* ``resolver``: one entry point for both methods;
* ``certificate``: the self-issued certificate that carries a DID's key in TLS until raw
  public keys (RFC 7250) exist;
* ``verifier``: :class:`~.verifier.DidPeerVerifier`, the PeerVerifier plug-in.

Needs the ``did`` extra (``pip install 'nautilus-tls[did]'``: base58, h11). Importing this
package loads none of its modules.
"""
