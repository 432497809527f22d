// Opens /board as a new user does after `make run`: no token pasted (local mode) and screenshots it.
// Usage: node first-run.mjs <baseUrl> <chromium> <screenshot.png>
// Prints one JSON line: what the page shows, and any problems on the way.
import { launch, watch } from "./chromium.mjs";

const [baseUrl, executablePath, screenshot] = process.argv.slice(2);
const { page, close } = await launch(executablePath);
const problems = watch(page);
const result = {};
try {
  await page.goto(`${baseUrl}/board`);
  await page.locator(".column .card").first().waitFor();
  await page.locator("#burndown svg, #burndown:has-text('not available')").first().waitFor();
  result.signInHidden = await page.locator("#sign-in").isHidden();
  result.who = await page.locator("#who").textContent();
  result.sprint = await page.locator("#sprint-name").textContent();
  result.cards = await page.locator(".column .card").count();
  await page.screenshot({ path: screenshot, fullPage: true });
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (error) {
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-failure.png"), fullPage: true }).catch(() => {});
  console.error(`${error.stack ?? error}\nso far: ${JSON.stringify(result)}\n${problems.join("\n")}`);
  process.exitCode = 1;
} finally {
  await close();
}
