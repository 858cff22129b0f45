#!/usr/bin/env python3
"""Reads the emulator's tenant with Google's own Python client, for `bench cli --compare`.

The same reads as dirsync's initial sync, one request at a time as the client's pagination
helpers (`list_next`) give them: org units, users (500 a page), deleted users, groups (200 a
page), and the members (200 a page) of every group whose `directMembersCount` is not 0. Prints
what it read, on one line.

    python3 -m venv /tmp/gvenv && /tmp/gvenv/bin/pip install google-api-python-client google-auth
    target/release/examples/bench cli --compare '/tmp/gvenv/bin/python examples/bench/clients/read_python.py'

The bench sets DIRSYNC_EMU_BASE, DIRSYNC_EMU_KEY and DIRSYNC_EMU_SUBJECT (see
emulated_directory.py).
"""

from emulated_directory import directory as directory_for, every

SCOPES = [
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
]


def main():
    directory = directory_for(SCOPES)
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
