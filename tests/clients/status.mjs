// Drives the manager's status panel of /board in headless Chromium: reads the draft, publishes it.
// Usage: node status.mjs <config.json>, where the config names baseUrl, token, chromium and artifacts.
// Prints one JSON line describing what happened; the Python test checks it against the server.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch, watch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { page, close } = await launch(config.chromium);
const problems = watch(page);
const result = {};
try {
  await page.goto(`${config.baseUrl}/board`);
  await page.fill("#board-key", "PAY");
  await page.fill("#token", config.token);
  await page.click("#sign-in button[type=submit]");
  await page.locator("#status-markdown", { hasText: "# PAY status" }).waitFor();
  await page.locator("body:not([data-loading])").waitFor();
  result.draft = {
    health: await page.locator("#status-health").getAttribute("data-health"),
    markdown: await page.locator("#status-markdown").textContent(),
    reasons: await page.locator("#status-reasons li").allTextContents(),
  };
  const before = await page.locator("#status-updates li").count();
  result.publishedBefore = before;

  await page.selectOption("#publish-health", "OFF_TRACK");
  await page.fill("#publish-summary", "Published from the board page");
  await page.click("#publish-form button[type=submit]");
  await page.locator("#status-updates li").nth(before).waitFor();
  await page.locator("#message", { hasText: "Published the status update" }).waitFor();
  result.published = await page.locator("#status-updates li").first().textContent();
  result.count = await page.locator("#status-count").textContent();
  // The next draft starts where the published update ended.
  result.nextDraft = await page.locator("#status-period").textContent();

  await page.screenshot({ path: join(config.artifacts, "status.png"), fullPage: true });
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (error) {
  await page.screenshot({ path: join(config.artifacts, "status-failure.png"), fullPage: true }).catch(() => {});
  console.error(`${error.stack ?? error}\nso far: ${JSON.stringify(result)}\n${problems.join("\n")}`);
  process.exitCode = 1;
} finally {
  await close();
}
