// Reads the emulator's tenant with Google's own Node client (@googleapis/admin), members
// listed by 8 workers at once, for `bench cli --compare`.
//
// The same reads as dirsync's initial sync: org units, users (500 a page), deleted users,
// groups (200 a page), then the members (200 a page) of every group whose
// `directMembersCount` is not 0, 8 groups at a time. Prints what it read, on one line.
//
//     mkdir -p /tmp/gnode && (cd /tmp/gnode && npm install @googleapis/admin google-auth-library)
//     target/release/examples/bench cli \
//       --compare 'NODE_PATH=/tmp/gnode/node_modules node examples/bench/clients/read_node.mjs'
//
// The bench sets DIRSYNC_EMU_BASE, DIRSYNC_EMU_KEY and DIRSYNC_EMU_SUBJECT (see emulated_directory.py).
// google-auth-library's JWT client posts to Google's own token URL, fixed in the library, so
// the one token exchange (at the key's token_uri, the emulator's) is made here; every API
// request goes through the client.

import { readFileSync } from "node:fs";
import { createSign } from "node:crypto";
import { createRequire } from "node:module";

// NODE_PATH is honoured by require, not by import: load the packages through it.
const require = createRequire(import.meta.url);
const { admin } = require("@googleapis/admin");
const { OAuth2Client } = require("google-auth-library");

const WORKERS = 8;
const SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
  "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
];

const key = JSON.parse(readFileSync(process.env.DIRSYNC_EMU_KEY, "utf8"));

async function accessToken() {
  const now = Math.floor(Date.now() / 1000);
  const part = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${part({ alg: "RS256", typ: "JWT" })}.${part({
    iss: key.client_email,
    sub: process.env.DIRSYNC_EMU_SUBJECT,
    scope: SCOPES.join(" "),
    aud: key.token_uri,
    iat: now,
    exp: now + 3600,
  })}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(key.private_key, "base64url");
  const response = await fetch(key.token_uri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: `${unsigned}.${signature}`,
    }),
  });
  if (!response.ok) throw new Error(`token endpoint: ${response.status} ${await response.text()}`);
  return (await response.json()).access_token;
}

async function every(list, params, field) {
  const items = [];
  let pageToken;
  do {
    const { data } = await list({ ...params, pageToken });
    items.push(...(data[field] ?? []));
    pageToken = data.nextPageToken;
  } while (pageToken);
  return items;
}

const auth = new OAuth2Client();
auth.setCredentials({ access_token: await accessToken() });
const directory = admin({ version: "directory_v1", auth, rootUrl: `${process.env.DIRSYNC_EMU_BASE}/` });
const users = directory.users.list.bind(directory.users);
const customer = "my_customer";

const { data: units } = await directory.orgunits.list({ customerId: customer, type: "all" });
const live = await every(users, { customer, maxResults: 500 }, "users");
const deleted = await every(users, { customer, maxResults: 500, showDeleted: "true" }, "users");
const groups = await every(directory.groups.list.bind(directory.groups), { customer, maxResults: 200 }, "groups");
const queue = groups.filter((g) => String(g.directMembersCount ?? "1") !== "0");
let memberships = 0;
const members = directory.members.list.bind(directory.members);
await Promise.all(
  Array.from({ length: WORKERS }, async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      // Awaited first: `memberships += await …` would read the sum before the wait.
      const read = await every(members, { groupKey: group.id, maxResults: 200 }, "members");
      memberships += read.length;
    }
  }),
);
console.log(
  `${live.length} users, ${deleted.length} deleted, ${groups.length} groups, ` +
    `${memberships} memberships, ${(units.organizationUnits ?? []).length} org units`,
);
