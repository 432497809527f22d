// The graphql-ws client subscribed to one board: prints "connected", then the
// first event as one JSON line, then exits.
// Usage: node subscribe.mjs <ws url> <token> <board key> < BoardEvents document
import { readFileSync } from "node:fs";
import { giveUpAfter, signedInClient } from "./ws-client.mjs";

const [url, token, boardKey] = process.argv.slice(2);
const query = readFileSync(0, "utf8");

const client = signedInClient(url, token);
const timer = giveUpAfter(20, "event");

try {
  const events = client.iterate({ query, operationName: "BoardEvents", variables: { boardKey } });
  for await (const result of events) {
    console.log(JSON.stringify(result));
    break;
  }
} catch (error) {
  console.error("subscription failed:", error instanceof Error ? error.message : JSON.stringify(error));
  process.exit(1);
} finally {
  clearTimeout(timer);
  await client.dispose();
}
