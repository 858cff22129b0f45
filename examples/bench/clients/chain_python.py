#!/usr/bin/env python3
"""Times the emulator's longest page chain alone, with Google's own Python client, for
`bench cli --compare`: the members of the biggest group (by `directMembersCount`), one page
after the other, nothing else in flight. Prints the pages, the chain's wall and the median
and fastest page: the floor under any client's full read of the tenant, since each page
needs the token the one before it returned.

    target/release/examples/bench cli --compare '/tmp/gvenv/bin/python examples/bench/clients/chain_python.py'

The bench sets DIRSYNC_EMU_BASE, DIRSYNC_EMU_KEY and DIRSYNC_EMU_SUBJECT (see
emulated_directory.py).
"""

import time

from emulated_directory import directory as directory_for, every

SCOPES = ["https://www.googleapis.com/auth/admin.directory.group.readonly"]


def main():
    directory = directory_for(SCOPES)
    groups = every(directory.groups(), "list", "groups", customer="my_customer", maxResults=200)
    biggest = max(groups, key=lambda g: int(g.get("directMembersCount", "0")))
    request = directory.members().list(groupKey=biggest["id"], maxResults=200)
    pages = []
    started = time.monotonic()
    while request is not None:
        sent = time.monotonic()
        response = request.execute()
        pages.append(time.monotonic() - sent)
        request = directory.members().list_next(request, response)
    wall = time.monotonic() - started
    pages.sort()
    print(
        f"the biggest group's chain: {len(pages)} pages in {wall:.2f} s, "
        f"median {pages[len(pages) // 2] * 1000:.1f} ms, fastest {pages[0] * 1000:.1f} ms a page"
    )


if __name__ == "__main__":
    main()
