// graphql-http's GraphQL-over-HTTP server audit against a live Storyline server.
// Usage: node audit.mjs <graphql url> <token>
// Prints every audit that is not "ok"; exits 0 only when all of them are.
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);

// Every request carries the token, as any real client's would.
function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithToken });
const failed = results.filter((result) => result.status !== "ok");
for (const result of failed) {
  const body = await result.response.text().catch(() => "<body already read>");
  console.log(`[${result.status}] ${result.id} ${result.name}: ${result.reason}`);
  console.log(`    HTTP ${result.response.status} ${result.response.headers.get("content-type")} ${body.slice(0, 200)}`);
}
console.log(`audits: ${results.length}, ok: ${results.length - failed.length}, not ok: ${failed.length}`);
process.exit(failed.length === 0 && results.length > 0 ? 0 : 1);
