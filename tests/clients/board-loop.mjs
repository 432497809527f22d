// Drives a team's daily loop on the reference board page (/board) in headless Chromium.
// Usage: node board-loop.mjs <config.json>, where the config names baseUrl, token (the page's user),
// otherToken (a second client), chromium, artifacts, operations (name -> document) and scenario:
// "daily", "planning", "wip", "burndown", "switcher" or "spend".
// Prints one JSON line describing what happened; the Python test checks it against the server.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { client, launch, watch } from "./chromium.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

// The second client: plain GraphQL over HTTP with its own token.
const send = client(config);

const card = (page, key) => page.locator(`.card[data-key="${key}"]`);
const cardIn = (page, column, key) => page.locator(`.column[data-column="${column}"] .card[data-key="${key}"]`);
const keysIn = (page, column) =>
  page.locator(`.column[data-column="${column}"] .card`).evaluateAll((nodes) => nodes.map((n) => n.dataset.key));
const columnKeys = (page) => page.locator(".column").evaluateAll((nodes) => nodes.map((n) => n.dataset.column));
const settled = (page) => page.locator("body:not([data-loading])").waitFor();
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// What a token has left of its rate limit (this query spends 1 unit, counted in the answer).
async function budget(token) {
  const response = await fetch(`${config.baseUrl}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: "{ rateLimit { limit remaining resetAt } }" }),
  });
  return (await response.json()).data.rateLimit;
}

async function waitUntil(check, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await pause(100);
  }
}

async function openBoard(page, board) {
  await page.goto(`${config.baseUrl}/board`);
  await page.fill("#board-key", board);
  await page.fill("#token", config.token);
  await page.click("#sign-in button[type=submit]");
  await page.locator("#live-state", { hasText: "live" }).waitFor();
  await page.locator(".column").first().waitFor();
  await settled(page);
}

// Opens a story's editor from its card (or backlog item) and waits for the dialog.
async function edit(page, key) {
  await page.locator(`.card[data-key="${key}"] button.edit, #backlog li[data-key="${key}"] button.edit`).first().click();
  await page.locator("#story-editor[open]").waitFor();
}

const scenarios = {
  // The latest activity on load; create a story, edit it, block and unblock a card, rank by drag.
  async daily(page, result) {
    await page.locator("#activity li").nth(19).waitFor();
    result.activityOnLoad = await page.locator("#activity li").evaluateAll((nodes) => nodes.map((n) => n.dataset.id));
    // The demo's stuck story shows why it is stuck, on the card itself.
    const stuck = page.locator(".card.blocked").first();
    result.stuck = {
      key: await stuck.getAttribute("data-key"),
      reason: await stuck.locator(".blocked-reason").innerText(),
      visible: await stuck.locator(".blocked-reason").isVisible(),
    };

    // Create a story: it lands at the bottom of the backlog.
    await page.fill("#new-story-title", "Refund by bank transfer");
    await page.fill("#new-story-points", "3");
    await page.click("#new-story button[type=submit]");
    const created = (await page.locator("#message", { hasText: "Created" }).innerText()).match(/Created (\S+):/)[1];
    await page.locator(`#backlog li[data-key="${created}"]`).waitFor();
    result.created = created;

    // Edit its title, points and assignee in one go.
    await edit(page, created);
    await page.fill("#edit-title", "Refund by SEPA transfer");
    await page.fill("#edit-points", "8");
    await page.selectOption("#edit-assignee", "bob");
    await page.click("#edit-save");
    const item = page.locator(`#backlog li[data-key="${created}"]`, { hasText: "Refund by SEPA transfer (8 pt · bob)" });
    await item.waitFor();
    result.edited = await item.innerText();

    // Block a card with a reason: the reason shows on the card. Then unblock it.
    // (Which columns the demo's sprint cards are in depends on the day: take the fullest.)
    const columns = await columnKeys(page);
    const sizes = await Promise.all(columns.map(async (column) => (await keysIn(page, column)).length));
    const fullest = columns[sizes.indexOf(Math.max(...sizes))];
    const done = await keysIn(page, fullest);
    const blocked = done.find((key) => key !== result.stuck.key);
    await edit(page, blocked);
    await page.fill("#block-reason", "the bank's sandbox is down");
    await page.click("#block");
    const reason = card(page, blocked).locator(".blocked-reason");
    await reason.waitFor();
    result.blocked = { key: blocked, reason: await reason.innerText(), visible: await reason.isVisible() };
    await edit(page, blocked);
    await page.click("#unblock");
    await card(page, blocked).locator(".blocked-reason").waitFor({ state: "detached" });
    result.unblocked = blocked;

    // Rank within a column: drag the column's last card onto the top half of its first.
    const [first, , ...rest] = done;
    const last = rest.at(-1) ?? done[1];
    await card(page, last).dragTo(card(page, first), { targetPosition: { x: 20, y: 4 } });
    await waitUntil(async () => (await keysIn(page, fullest))[0] === last, `${last} first in ${fullest}`);
    await settled(page);
    result.ranked = { key: last, before: first, column: fullest, order: await keysIn(page, fullest) };

    // Move into another column at a place: below the card already there.
    const other = columns.find((column, index) => column !== fullest && sizes[index] > 0);
    const [below] = await keysIn(page, other);
    const moving = (await keysIn(page, fullest))[1];
    const box = await card(page, below).boundingBox();
    await card(page, moving).dragTo(card(page, below), { targetPosition: { x: 20, y: box.height - 4 } });
    await cardIn(page, other, moving).waitFor();
    await settled(page);
    result.movedBelow = { key: moving, after: below, column: other, order: await keysIn(page, other) };

    // Live updates off while another client works; back on, Activity catches up, each entry once.
    await page.uncheck("#live");
    await page.locator("#live-state", { hasText: "offline" }).waitFor();
    const { assignStory } = await send(config.otherToken, "AssignStory", { input: { storyKey: created, assignee: "carol" } });
    if (assignStory.errors.length) throw new Error(JSON.stringify(assignStory.errors));
    await page.check("#live");
    await page.locator("#live-state", { hasText: "live" }).waitFor();
    const caughtUp = page.locator("#activity li", { hasText: `bob assigned ${created} to carol` });
    await caughtUp.first().waitFor();
    await page.waitForTimeout(1000);
    await settled(page);
    result.caughtUp = await caughtUp.count();
    result.activityIds = await page.locator("#activity li").evaluateAll((nodes) => nodes.map((n) => n.dataset.id));
  },

  // Plan the next sprint from the backlog, complete the active one, start the planned one, complete it.
  async planning(page, result) {
    await page.fill("#new-sprint-name", "Sprint 5");
    result.proposedDates = [await page.inputValue("#new-sprint-start"), await page.inputValue("#new-sprint-end")];
    await page.click("#new-sprint button[type=submit]");
    const planned = page.locator('.planned-sprint[data-name="Sprint 5"]');
    await planned.waitFor();

    const story = await page.locator("#backlog li").first().getAttribute("data-key");
    await page.locator(`#backlog li[data-key="${story}"]`).dragTo(planned);
    await planned.locator(`li[data-key="${story}"]`).waitFor();
    await page.locator(`#backlog li[data-key="${story}"]`).waitFor({ state: "detached" });
    result.planned = story;
    // The live feed brings the change once, however many times it is delivered.
    const added = page.locator("#activity li", { hasText: new RegExp(`${story}\\b.* to Sprint 5`) });
    await added.first().waitFor();
    await page.waitForTimeout(1500);
    await settled(page);
    result.addedEntries = await added.count();

    // Complete the active sprint: with no active sprint the columns show the board's stories.
    result.completed = (await page.locator("#sprint-name").innerText()).split(" · ")[0];
    await page.click("#complete-sprint");
    await page.locator("#sprint-name", { hasText: "No active sprint" }).waitFor();
    await page.locator(".column .card").first().waitFor();
    await settled(page);
    result.between = {};
    for (const column of await columnKeys(page)) result.between[column] = await keysIn(page, column);

    await planned.locator(".start-sprint").click();
    await page.locator("#sprint-name", { hasText: "Sprint 5" }).waitFor();
    await card(page, story).waitFor();
    result.started = await page.locator("#sprint-name").innerText();

    await page.click("#complete-sprint");
    await page.locator("#sprint-name", { hasText: "No active sprint" }).waitFor();
    await settled(page);
  },

  // The WIP badge counts the whole column, as the server does: a full column refuses the drop.
  async wip(page, result) {
    const column = "IN_PROGRESS";
    const badge = page.locator(`.column[data-column="${column}"] .badge.wip`);
    const { board } = await send(config.otherToken, "BoardView", { boardKey: "PAY" });
    const limit = board.columns.find((c) => c.key === column).wipLimit;
    const holds = board.columns.find((c) => c.key === column).occupancy.totalCount;
    // Another client fills the column with backlog stories: not in the sprint, so no card shows them.
    const { board: backlog } = await send(config.otherToken, "Backlog", { boardKey: "PAY", first: limit });
    const filled = backlog.backlog.edges.slice(0, limit - holds).map(({ node }) => node.key);
    for (const key of filled) {
      const { moveStory } = await send(config.otherToken, "MoveStory", { input: { storyKey: key, toColumn: column } });
      if (moveStory.errors.length) throw new Error(`could not fill ${column}: ${JSON.stringify(moveStory.errors)}`);
    }
    await page.locator(`.column[data-column="${column}"] .badge.wip`, { hasText: `${limit} / ${limit}` }).waitFor();
    await settled(page);
    result.filled = filled;
    result.badge = await badge.innerText();
    result.cardsShown = (await keysIn(page, column)).length;
    result.atLimit = await page.locator(`.column[data-column="${column}"]`).evaluate((n) => n.classList.contains("at-limit"));

    const mover = await page.locator(`.column:not([data-column="${column}"]) .card`).first();
    const key = await mover.getAttribute("data-key");
    const from = await mover.evaluate((n) => n.closest(".column").dataset.column);
    await mover.dragTo(page.locator(`.column[data-column="${column}"]`));
    await page.locator("#message", { hasText: "WIP limit" }).waitFor();
    await settled(page);
    result.refused = { key, from, message: await page.locator("#message").innerText() };
    result.stayed = (await keysIn(page, from)).includes(key);
  },

  // The burndown spans the whole sprint, with y ticks between 0 and the top.
  async burndown(page, result) {
    const chart = page.locator("#burndown svg");
    await chart.locator("polyline.remaining").waitFor();
    result.xLabels = await chart.locator("text.x-label").allTextContents();
    result.yLabels = await chart.locator("text.y-label").allTextContents();
    result.remaining = await chart.locator("polyline.remaining").getAttribute("points");
    result.axisEnd = Number(await chart.locator("line.axis").last().getAttribute("x2"));
  },

  // Switch to another board the viewer can see, work on it, and back.
  async switcher(page, result) {
    result.options = await page.locator("#board-switcher option").evaluateAll((nodes) => nodes.map((n) => n.value));
    await page.selectOption("#board-switcher", config.otherBoard);
    await page.locator("#who", { hasText: `on ${config.otherBoard}` }).waitFor();
    await page.locator("#live-state", { hasText: "live" }).waitFor();
    await settled(page);
    result.url = page.url();
    result.otherColumns = await columnKeys(page);
    await page.fill("#new-story-title", "Rotate the API keys");
    await page.click("#new-story button[type=submit]");
    const created = (await page.locator("#message", { hasText: "Created" }).innerText()).match(/Created (\S+):/)[1];
    // No sprint on that board: the story shows in its column.
    await card(page, created).waitFor();
    result.created = { key: created, column: await card(page, created).evaluate((n) => n.closest(".column").dataset.column) };
    result.otherActivity = await page.locator("#activity li").allInnerTexts();

    await page.selectOption("#board-switcher", "PAY");
    await page.locator("#who", { hasText: "on PAY" }).waitFor();
    await page.locator("#live-state", { hasText: "live" }).waitFor();
    await settled(page);
    result.backCards = await page.locator(".column .card").count();
    result.backActivity = await page.locator("#activity li").count();
  },

  // Another client (its own token) changes a card several times a second and publishes status
  // updates while the page follows live; the page's token tells what the page spent meanwhile.
  async spend(page, result) {
    const key = await page.locator(".card").first().getAttribute("data-key");
    const sent = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/graphql")) {
        sent.push(JSON.parse(request.postData()).operationName);
      }
    });
    const before = await budget(config.token);
    const started = Date.now();
    let changes = 0;
    let published = null;
    while (Date.now() - started < config.burstSeconds * 1000) {
      changes += 1;
      const input = { storyKey: key, title: `Burst change ${changes}` };
      const { updateStory } = await send(config.writerToken, "UpdateStory", { input });
      if (updateStory.errors.length) throw new Error(JSON.stringify(updateStory.errors));
      if (changes % 10 === 0) {
        published = `Burst summary ${changes}`;
        const update = { boardKey: "PAY", health: "AT_RISK", summary: published };
        const { publishStatusUpdate } = await send(config.writerToken, "PublishStatusUpdate", { input: update });
        if (publishStatusUpdate.errors.length) throw new Error(JSON.stringify(publishStatusUpdate.errors));
      }
      await pause(config.pauseMs);
    }
    const seconds = (Date.now() - started) / 1000;
    // The refresh after the last change shows it, and the last update published.
    await card(page, key).locator(".title", { hasText: new RegExp(`^Burst change ${changes}$`) }).waitFor();
    await page.locator("#status-updates li", { hasText: published }).first().waitFor();
    await settled(page);
    const after = await budget(config.token);
    const counts = {};
    for (const name of sent) counts[name] = (counts[name] ?? 0) + 1;
    result.spend = { seconds, changes, before, after, requests: counts, shownTitle: await card(page, key).locator(".title").innerText() };
  },
};

const { page, close } = await launch(config.chromium);
const problems = watch(page);
const result = { scenario: config.scenario };
try {
  await openBoard(page, config.board ?? "PAY");
  await scenarios[config.scenario](page, result);
  await page.screenshot({ path: join(config.artifacts, `board-${config.scenario}.png`), fullPage: true });
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (error) {
  await page.screenshot({ path: join(config.artifacts, `board-${config.scenario}-failure.png`), fullPage: true }).catch(() => {});
  console.error(`${error.stack ?? error}\nso far: ${JSON.stringify(result)}\n${problems.join("\n")}`);
  process.exitCode = 1;
} finally {
  await close();
}
