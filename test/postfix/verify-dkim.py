"""
Verify the DKIM signature of each message file given, with dkimpy (Debian's
python3-dkim), taking the public key from the environment instead of DNS.

  DKIM_TXT_NAME=sel._domainkey.example.org DKIM_TXT='v=DKIM1; k=rsa; p=...' \
    python3 test/postfix/verify-dkim.py a.eml b.eml ...

Prints one JSON object: {"results": [{"file": ..., "valid": true|false, "log": ...}], "lookups": [...]}.
The TXT record is returned only for exactly DKIM_TXT_NAME; any other name gets
nothing, so a signature naming another selector or domain cannot verify.
"""
import io
import json
import logging
import os
import sys

import dkim

NAME = os.environ["DKIM_TXT_NAME"].rstrip(".").lower()
TXT = os.environ["DKIM_TXT"].encode("ascii")
lookups = []


def dnsfunc(name, timeout=5):
    text = name.decode("ascii") if isinstance(name, bytes) else name
    lookups.append(text)
    return TXT if text.rstrip(".").lower() == NAME else None


results = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        message = f.read()
    log = io.StringIO()
    logger = logging.getLogger("dkim-" + str(len(results)))
    logger.addHandler(logging.StreamHandler(log))
    logger.setLevel(logging.DEBUG)
    try:
        valid = bool(dkim.verify(message, logger=logger, dnsfunc=dnsfunc, minkey=1024))
    except Exception as e:  # a malformed signature is a failed verification, said why
        valid = False
        log.write("exception: %r\n" % (e,))
    results.append({"file": path, "valid": valid, "log": log.getvalue()[-2000:]})

json.dump({"results": results, "lookups": lookups}, sys.stdout)
