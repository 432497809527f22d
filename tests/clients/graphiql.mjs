// Opens GraphiQL (/graphql) in headless Chromium with no way to reach any host but the server,
// and runs a query from its editor.
// Usage: node graphiql.mjs <config.json>, where the config names baseUrl, token, query, chromium
// and artifacts. Prints one JSON line describing what happened; the Python test checks it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch, watch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const server = new URL(config.baseUrl);
// Every other host fails to resolve, as on a machine without internet.
const offline = `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${server.hostname}`;
const { page, close } = await launch(config.chromium, { args: [offline] });
const problems = watch(page);
const result = { elsewhere: [] };
// Requests for other origins are refused here too, and noted.
await page.route("**/*", (route) => {
  const url = new URL(route.request().url());
  if (url.origin === server.origin || url.protocol === "data:") return route.continue();
  result.elsewhere.push(url.href);
  return route.abort("internetdisconnected");
});
try {
  // GraphiQL's own URL parameters: the query in the editor and the headers in the headers editor.
  // Encoded by hand: the page decodes with decodeURIComponent, which leaves "+" as it is.
  const q = encodeURIComponent(config.query);
  const headers = encodeURIComponent(JSON.stringify({ Authorization: `Bearer ${config.token}` }));
  await page.goto(`${config.baseUrl}/graphql?q=${q}&headers=${headers}`, { waitUntil: "load" });
  await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
  result.editor = await page.locator(".graphiql-query-editor .CodeMirror-code").textContent();
  await page.click("button.graphiql-execute-button");
  const output = page.locator(".graphiql-response .CodeMirror-code");
  await output.filter({ hasText: '"data"' }).waitFor();
  result.response = JSON.parse(
    await page.evaluate(() => document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue()),
  );
  await page.screenshot({ path: join(config.artifacts, "graphiql.png") });
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (error) {
  await page.screenshot({ path: join(config.artifacts, "graphiql-failure.png") }).catch(() => {});
  console.error(error);
  console.error(JSON.stringify({ ...result, problems }));
  process.exitCode = 1;
} finally {
  await close();
}
