"""PyInstaller runtime hook: give TLS (aiohttp's WebSocket to Azure) a CA bundle that exists.

The bundle carries the build machine's OpenSSL, whose compiled-in trust paths (Debian's
/usr/lib/ssl) are wrong on other distributions, and aiohttp builds its default SSL context at
import time from those paths. Order of preference, decided once before anything imports ssl:
  1. SSL_CERT_FILE / SSL_CERT_DIR set by the user: left alone.
  2. OpenSSL's own default file or directory exists: left alone (the system store, which
     also holds any company CA the administrator installed).
  3. A distribution's CA bundle at a well-known path (the list Go's crypto/x509 uses).
  4. certifi's bundle shipped inside the app.
The choice is recorded in AZASSIST_TLS_TRUST for ``azassist selftest`` to report.
"""


def _choose_ca_bundle() -> None:
    import os
    import ssl
    import sys

    if not getattr(sys, "frozen", False):
        return
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        os.environ["AZASSIST_TLS_TRUST"] = "environment"
        return
    defaults = ssl.get_default_verify_paths()
    if (defaults.openssl_cafile and os.path.isfile(defaults.openssl_cafile)) or (
        defaults.openssl_capath
        and os.path.isdir(defaults.openssl_capath)
        and os.listdir(defaults.openssl_capath)
    ):
        os.environ["AZASSIST_TLS_TRUST"] = "system-default"
        return
    well_known = (
        "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo
        "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
        "/etc/ssl/ca-bundle.pem",  # openSUSE
        "/etc/pki/tls/cacert.pem",  # OpenELEC
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7
        "/etc/ssl/cert.pem",  # Alpine, macOS
    )
    for candidate in well_known:
        if os.path.isfile(candidate):
            os.environ["SSL_CERT_FILE"] = candidate
            os.environ["AZASSIST_TLS_TRUST"] = "system-bundle"
            return
    try:
        import certifi
    except ImportError:
        return
    os.environ["SSL_CERT_FILE"] = certifi.where()
    os.environ["AZASSIST_TLS_TRUST"] = "certifi"


_choose_ca_bundle()
