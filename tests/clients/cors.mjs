// Calls the API from pages on other origins in headless Chromium, as a board page on another site would.
// Usage: node cors.mjs <config.json>, where the config names chromium, api (the /graphql URL), token,
// query, and pages (name -> URL of a page on some origin). Prints one JSON line: per page, what its
// fetch got (status and body) or the error the browser raised.
import { readFileSync } from "node:fs";
import { launch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { page, close } = await launch(config.chromium);
const result = {};
try {
  for (const [name, url] of Object.entries(config.pages)) {
    await page.goto(url);
    result[name] = await page.evaluate(
      async ({ api, token, query }) => {
        try {
          const response = await fetch(api, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
            body: JSON.stringify({ query }),
          });
          const remaining = response.headers.get("X-RateLimit-Remaining");
          return { origin: location.origin, status: response.status, body: await response.json(), remaining };
        } catch (error) {
          return { origin: location.origin, error: String(error) };
        }
      },
      { api: config.api, token: config.token, query: config.query },
    );
  }
} finally {
  await close();
}
console.log(JSON.stringify(result));
