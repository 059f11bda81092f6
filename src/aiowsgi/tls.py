"""The TLS context of a server, from the ssl_* options, with an error a person can act on if it fails."""

from __future__ import annotations

import os
import ssl

from .config import Config
from .errors import ConfigError

_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def server_ssl_context(config: Config) -> ssl.SSLContext | None:
    """None without --ssl-certfile; else a server context (TLS 1.2 at least).

    Raises:
        ConfigError: a file is missing or unreadable, the key does not match, or the password is wrong.
    """
    if not config.ssl_certfile:
        if config.ssl_keyfile or config.ssl_ca_certs:
            raise ConfigError("--ssl-keyfile and --ssl-ca-certs need --ssl-certfile")
        return None
    for option, path in (
        ("--ssl-certfile", config.ssl_certfile),
        ("--ssl-keyfile", config.ssl_keyfile),
        ("--ssl-ca-certs", config.ssl_ca_certs),
    ):
        if path and not os.path.isfile(path):
            raise ConfigError(f"{option}: no file {path!r}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(
            config.ssl_certfile, config.ssl_keyfile or None, config.ssl_keyfile_password or None
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load the TLS certificate {config.ssl_certfile!r} with key "
            f"{config.ssl_keyfile or '(in the same file)'!r}: {exc} (a wrong password, a key that does not "
            "match the certificate, or a file that is not PEM)"
        ) from None
    if config.ssl_ca_certs:
        try:
            context.load_verify_locations(config.ssl_ca_certs)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"cannot load --ssl-ca-certs {config.ssl_ca_certs!r}: {exc}") from None
    if config.ssl_cert_reqs != "none" and not config.ssl_ca_certs:
        raise ConfigError(f"--ssl-cert-reqs {config.ssl_cert_reqs} needs --ssl-ca-certs to check against")
    context.verify_mode = _CERT_REQS[config.ssl_cert_reqs]
    if config.ssl_ciphers:
        try:
            context.set_ciphers(config.ssl_ciphers)
        except ssl.SSLError as exc:
            raise ConfigError(f"--ssl-ciphers {config.ssl_ciphers!r}: {exc}") from None
    return context
