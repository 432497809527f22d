// Drives the reference board page (/board) in headless Chromium against a live server.
// Usage: node board.mjs <config.json>, where the config names baseUrl, token (the page's user),
// otherToken (a second client), chromium, artifacts and operations (name -> document).
// Prints one JSON line describing what happened; the Python test checks it against the server.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { client, launch, watch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const BOARD = "PAY";

// The second client: plain GraphQL over HTTP with its own token.
const send = client(config);

async function moveAsOther(key, toColumn) {
  const { moveStory } = await send(config.otherToken, "MoveStory", { input: { storyKey: key, toColumn } });
  if (moveStory.errors.length) throw new Error(`second client could not move ${key}: ${JSON.stringify(moveStory.errors)}`);
}

const card = (page, key) => page.locator(`.card[data-key="${key}"]`);
const cardIn = (page, column, key) => page.locator(`.column[data-column="${column}"] .card[data-key="${key}"]`);
const columnOf = (page, key) => card(page, key).evaluate((node) => node.closest(".column").dataset.column);

async function cardOutside(page, columns, except = []) {
  for (const node of await page.locator(".card").all()) {
    const key = await node.getAttribute("data-key");
    if (!except.includes(key) && !columns.includes(await columnOf(page, key))) return key;
  }
  throw new Error(`no card outside ${columns}`);
}

const { page, close } = await launch(config.chromium);
const problems = watch(page);

const result = {};
try {
  await page.goto(`${config.baseUrl}/board`);
  await page.fill("#board-key", BOARD);
  await page.fill("#token", config.token);
  await page.click("#sign-in button[type=submit]");
  await page.locator("#live-state", { hasText: "live" }).waitFor();
  await page.locator(".column .card").first().waitFor();
  const columns = await page.locator(".column").evaluateAll((nodes) => nodes.map((n) => n.dataset.column));
  result.columns = columns;
  result.backlog = await page.locator("#backlog li").count();

  // 1. Drag a card to the first column.
  const dragged = await cardOutside(page, [columns[0]]);
  await card(page, dragged).dragTo(page.locator(`.column[data-column="${columns[0]}"]`));
  await cardIn(page, columns[0], dragged).waitFor();
  result.dragged = { key: dragged, to: columns[0] };

  // 2. The click alternative: one column to the right.
  await cardIn(page, columns[0], dragged).locator("button.move").last().click();
  await cardIn(page, columns[1], dragged).waitFor();
  result.clicked = { key: dragged, to: columns[1] };

  // 3. Another client moves a card: it moves here too, without a reload.
  const live = await cardOutside(page, [], [dragged]);
  const liveTo = columns.find((column) => column !== columns[0]);
  const liveTarget = (await columnOf(page, live)) === liveTo ? columns.at(-1) : liveTo;
  await moveAsOther(live, liveTarget);
  await cardIn(page, liveTarget, live).waitFor({ timeout: 10_000 });
  result.live = { key: live, to: liveTarget };

  // 4. With live updates off, the page keeps a stale version: its move is refused as a conflict.
  await page.uncheck("#live");
  await page.locator("#live-state", { hasText: "offline" }).waitFor();
  await page.locator("body:not([data-loading])").waitFor(); // reloads already under way end first
  const contested = await cardOutside(page, [columns[0]], [dragged, live]);
  const from = await columnOf(page, contested);
  const otherTo = columns.find((column) => column !== columns[0] && column !== from);
  await moveAsOther(contested, otherTo);
  await card(page, contested).dragTo(page.locator(`.column[data-column="${columns[0]}"]`));
  await page.locator("#message", { hasText: "changed by someone else" }).waitFor();
  await cardIn(page, otherTo, contested).waitFor(); // the page reloaded and shows the other client's move
  result.conflict = { key: contested, to: otherTo, message: await page.locator("#message").textContent() };
  await page.check("#live");
  await page.locator("#live-state", { hasText: "live" }).waitFor();

  // 5. The burndown, once the server serves it.
  const chart = page.locator("#burndown svg polyline.remaining");
  await page.locator("#burndown svg, #burndown:has-text('not available')").first().waitFor();
  result.burndown = (await chart.count())
    ? { points: (await chart.getAttribute("points")).trim().split(/\s+/).length }
    : { pending: await page.locator("#burndown").textContent() };

  await page.screenshot({ path: join(config.artifacts, "board.png"), fullPage: true });
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (error) {
  await page.screenshot({ path: join(config.artifacts, "board-failure.png"), fullPage: true }).catch(() => {});
  console.error(`${error.stack ?? error}\nso far: ${JSON.stringify(result)}\n${problems.join("\n")}`);
  process.exitCode = 1;
} finally {
  await close();
}
