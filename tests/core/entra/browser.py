#!/usr/bin/env python3
"""A headless 'browser' for sign-in tests: BROWSER points at it, webbrowser runs it with the
authorize URL. It follows the authority's redirect to the loopback redirect URI, trusting
only the test CA ($AZASSIST_TEST_CA). $AZASSIST_TEST_BROWSER=ignore: opens nothing (the
user walks away); the URLs it was given are appended to $AZASSIST_TEST_BROWSER_LOG."""

import os
import ssl
import subprocess
import sys
import urllib.request


def main() -> int:
    url = sys.argv[-1]
    if os.environ.get("AZASSIST_TEST_BROWSER_CHILD") != "1":
        # like a real browser, return at once: the caller waits for us before it listens
        env = {**os.environ, "AZASSIST_TEST_BROWSER_CHILD": "1"}
        subprocess.Popen([sys.executable, __file__, url], env=env, start_new_session=True)
        return 0
    log = os.environ.get("AZASSIST_TEST_BROWSER_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(url.split("?", 1)[0] + "\n")  # never the query: it carries a PKCE challenge
    if os.environ.get("AZASSIST_TEST_BROWSER") == "ignore":
        return 0
    context = ssl.create_default_context(cafile=os.environ["AZASSIST_TEST_CA"])
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=30) as response:
        response.read()
    return 0


if __name__ == "__main__":
    sys.exit(main())
