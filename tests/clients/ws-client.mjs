// What the graphql-ws scripts share: a client signed in with a token, and a
// deadline after which the script gives up (exit 2), closing its output.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export function signedInClient(url, token) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { connected: () => console.log("connected") },
  });
}

export function giveUpAfter(seconds, what) {
  return setTimeout(() => {
    console.error(`no ${what} within ${seconds} s`);
    process.exit(2);
  }, seconds * 1000);
}
