// The graphql-ws client subscribed to boardChanges: prints "connected", then each
// result as one JSON line; exits after <count> results, when the server completes
// the subscription, or after printing {"errors": ...} when the server refuses it.
// Usage: node changes.mjs <ws url> <token> <count> < {"query": ..., "variables": ...}
import { readFileSync } from "node:fs";
import { giveUpAfter, signedInClient } from "./ws-client.mjs";

const [url, token, count] = process.argv.slice(2);
const { query, variables } = JSON.parse(readFileSync(0, "utf8"));

const client = signedInClient(url, token);
const timer = giveUpAfter(30, "change");

let received = 0;
try {
  for await (const result of client.iterate({ query, variables })) {
    console.log(JSON.stringify(result));
    received += 1;
    if (received >= Number(count)) break;
  }
} catch (error) {
  console.log(JSON.stringify({ errors: error }));
} finally {
  clearTimeout(timer);
  await client.dispose();
}
