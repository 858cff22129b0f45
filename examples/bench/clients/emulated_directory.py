"""Google's Python Directory API client, pointed at the bench's emulator: what
read_python.py and chain_python.py share.

The bench sets DIRSYNC_EMU_BASE (the emulator's http://127.0.0.1:PORT), DIRSYNC_EMU_KEY (its
service-account key file, whose token_uri is the emulator's) and DIRSYNC_EMU_SUBJECT.
"""

import json
import os

from google.oauth2 import service_account
from googleapiclient.discovery import build


def directory(scopes):
    """The Directory API (admin directory_v1) as the key's service account acting for the
    subject, with `scopes`."""
    with open(os.environ["DIRSYNC_EMU_KEY"], encoding="utf-8") as f:
        key = json.load(f)
    credentials = service_account.Credentials.from_service_account_info(
        key, scopes=scopes, subject=os.environ["DIRSYNC_EMU_SUBJECT"]
    )
    return build(
        "admin",
        "directory_v1",
        credentials=credentials,
        static_discovery=True,
        client_options={"api_endpoint": os.environ["DIRSYNC_EMU_BASE"]},
    )


def every(collection, method, field, **kwargs):
    """Every item of a listing, page after page (the client's `list_next`)."""
    request = getattr(collection, method)(**kwargs)
    while request is not None:
        response = request.execute()
        yield from response.get(field, [])
        request = collection.list_next(request, response)
