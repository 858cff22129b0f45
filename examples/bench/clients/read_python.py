#!/usr/bin/env python3
"""Reads the emulator's tenant with Google's own Python client, for `bench cli --compare`.

The same reads as dirsync's initial sync, one request at a time as the client's pagination
helpers (`list_next`) give them: org units, users (500 a page), deleted users, groups (200 a
page), and the members (200 a page) of every group whose `directMembersCount` is not 0. Prints
what it read, on one line.

    python3 -m venv /tmp/gvenv && /tmp/gvenv/bin/pip install google-api-python-client google-auth
    target/release/examples/bench cli --compare '/tmp/gvenv/bin/python examples/bench/clients/read_python.py'

The bench sets DIRSYNC_EMU_BASE (the emulator's http://127.0.0.1:PORT), DIRSYNC_EMU_KEY (its
service-account key file, whose token_uri is the emulator's) and DIRSYNC_EMU_SUBJECT.
"""

import json
import os

from google.oauth2 import service_account
from googleapiclient.discovery import build

SCOPES = [
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
]


def every(collection, method, field, **kwargs):
    """Every item of a listing, page after page."""
    request = getattr(collection, method)(**kwargs)
    while request is not None:
        response = request.execute()
        yield from response.get(field, [])
        request = collection.list_next(request, response)


def main():
    with open(os.environ["DIRSYNC_EMU_KEY"], encoding="utf-8") as f:
        key = json.load(f)
    credentials = service_account.Credentials.from_service_account_info(
        key, scopes=SCOPES, subject=os.environ["DIRSYNC_EMU_SUBJECT"]
    )
    directory = build(
        "admin",
        "directory_v1",
        credentials=credentials,
        static_discovery=True,
        client_options={"api_endpoint": os.environ["DIRSYNC_EMU_BASE"]},
    )
    org_units = directory.orgunits().list(customerId="my_customer", type="all").execute()
    users = list(every(directory.users(), "list", "users", customer="my_customer", maxResults=500))
    deleted = list(
        every(
            directory.users(),
            "list",
            "users",
            customer="my_customer",
            maxResults=500,
            showDeleted="true",
        )
    )
    groups = list(
        every(directory.groups(), "list", "groups", customer="my_customer", maxResults=200)
    )
    memberships = 0
    for group in groups:
        if str(group.get("directMembersCount", "1")) == "0":
            continue
        for _ in every(directory.members(), "list", "members", groupKey=group["id"], maxResults=200):
            memberships += 1
    print(
        f"{len(users)} users, {len(deleted)} deleted, {len(groups)} groups, "
        f"{memberships} memberships, {len(org_units.get('organizationUnits', []))} org units"
    )


if __name__ == "__main__":
    main()
