// Storyline's reference board: plain JavaScript, no build step. It sends only the
// operations of frontend-contract/operations (operations.js holds them verbatim).
import { OPERATIONS } from "./operations.js";

const ENDPOINT = "/graphql";
const TOKEN_KEY = "storyline.token";
const BOARD_KEY = "storyline.board";
const RELOAD_DELAY_MS = 150; // events come in bursts (a sprint start moves many cards): reload once
// Refreshes start at least this far apart, however many changes arrive: with at most 59 units a
// refresh, live updates spend at most 1,770 units a minute (frontend-contract/README.md).
const REFRESH_GAP_MS = 2000;
const RECONNECT_MS = [500, 1000, 2000, 5000];
const COLUMN_CARDS_SHOWN = 15; // per column, when no sprint is active; the badge counts them all
const PLANNED_SHOWN = 5; // the next planned sprints
const UPDATES_SHOWN = 3; // published status updates: each comes with its frozen figures, about 5 units

const $ = (selector) => document.querySelector(selector);

// Set by the server in local mode (`make run` on this machine): a short-lived admin token.
const LOCAL_TOKEN = document.querySelector('meta[name="storyline-local-token"]')?.content || null;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || LOCAL_TOKEN,
  boardKey: new URLSearchParams(location.search).get("board") || sessionStorage.getItem(BOARD_KEY) || "PAY",
  cards: new Map(), // story key -> the StoryCard last loaded, of the cards on the board
  backlog: new Map(), // the same, of the backlog's stories shown
  columns: [],
  members: [],
  sprint: null, // the active sprint, if any
  planned: [],
  backlogCursor: null,
  dragging: null, // { key, from: "board" | "backlog" } while a drag is under way
  editing: null, // the story open in the editor
  activity: new Set(), // ids of the audit entries shown in Activity
  activityPairs: new Set(), // changes told by two entries, told once (see sprintPairKey)
};

// ----- GraphQL over HTTP ---------------------------------------------------------

class RequestError extends Error {}

async function request(operationName, variables) {
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      Authorization: `Bearer ${state.token}`,
    },
    body: JSON.stringify({ query: OPERATIONS[operationName], operationName, variables }),
  });
  if (response.status === 401) {
    signOut("The server refused this token. Paste a valid API token.");
    throw new RequestError("unauthenticated");
  }
  const body = await response.json().catch(() => ({}));
  if (body.errors?.length) {
    throw new RequestError(body.errors.map((e) => e.message).join("; "));
  }
  if (!response.ok || !body.data) {
    throw new RequestError(`${operationName} failed with HTTP ${response.status}`);
  }
  return body.data;
}

function mutationId() {
  // crypto.randomUUID needs a secure context; plain http on a LAN address is not one.
  return crypto.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// ----- messages --------------------------------------------------------------------

function say(text, kind = "info") {
  const message = $("#message");
  message.textContent = text;
  message.className = kind;
  message.hidden = !text;
}

// ----- the board -------------------------------------------------------------------

async function loadBoard() {
  const data = await request("BoardView", { boardKey: state.boardKey });
  if (!data.board) {
    say(`There is no board ${state.boardKey}, or this token may not see it.`, "error");
    return;
  }
  $("#who").textContent = `${data.viewer.name} on ${data.board.key} · ${data.board.name}`;
  state.columns = data.board.columns;
  state.members = data.board.members.map((member) => member.user);
  const sprint = data.board.activeSprint;
  state.sprint = sprint;
  let stories;
  let shown = null; // per column, when a column has more stories than the page shows
  if (sprint) {
    stories = sprint.stories.edges.map((edge) => edge.node);
  } else {
    // No active sprint (between sprints, or a Kanban board): each column's own stories.
    const columns = await request("BoardColumns", { boardKey: state.boardKey, first: COLUMN_CARDS_SHOWN });
    stories = columns.board.columns.flatMap((column) => column.stories.edges.map((edge) => edge.node));
    shown = new Map(columns.board.columns.map((column) => [column.key, column.stories]));
  }
  state.cards = new Map(stories.map((story) => [story.key, story]));
  renderSprint(sprint);
  renderColumns(stories, shown);
  $("#app").hidden = false;
  await loadBurndown(sprint);
}

function renderSprint(sprint) {
  $("#sprint-name").textContent = sprint
    ? `${sprint.name} · ${sprint.startDate} to ${sprint.endDate}`
    : "No active sprint: the board shows every story by column";
  $("#sprint-goal").textContent = sprint?.goal ?? "";
  $("#complete-form").hidden = !sprint;
}

function renderColumns(stories, shown) {
  const board = $("#board");
  board.replaceChildren(
    ...state.columns.map((column, index) => {
      const cards = stories.filter((story) => story.status.key === column.key);
      const section = element("section", { class: "column", "data-column": column.key });
      // The WIP limit counts the whole column, sprint or not, as the server does.
      const holds = column.occupancy.totalCount;
      const limit = column.wipLimit == null ? "" : ` / ${column.wipLimit}`;
      const count = element("span", { class: "badge wip", title: "Stories in this column, in any sprint" });
      count.textContent = `${holds}${limit}`;
      section.append(element("h3", {}, column.name, count));
      if (column.wipLimit != null && holds > column.wipLimit) section.classList.add("over-limit");
      else if (column.wipLimit != null && holds === column.wipLimit) section.classList.add("at-limit");
      const list = element("ol", { class: "cards" });
      list.append(...cards.map((story) => renderCard(story, index)));
      section.append(list);
      const page = shown?.get(column.key);
      if (page && page.totalCount > cards.length) {
        section.append(element("p", { class: "more" }, `and ${page.totalCount - cards.length} more`));
      }
      acceptCardDrops(section, column.key);
      return section;
    }),
  );
}

function renderCard(story, columnIndex) {
  const card = element("li", {
    class: story.blocked ? "card blocked" : "card",
    draggable: "true",
    "data-key": story.key,
    "data-version": String(story.version),
  });
  card.append(element("div", { class: "key" }, story.key), element("div", { class: "title" }, story.title));
  if (story.blocked) {
    card.append(element("p", { class: "blocked-reason" }, `Blocked: ${story.blockedReason}`));
  }
  const meta = element("div", { class: "meta" });
  const points = story.points == null ? "–" : `${story.points} pt`;
  meta.append(element("span", { class: "facts" }, `${points} · ${story.assignee ?? "unassigned"}`));
  const buttons = element("span");
  // The click alternative to dragging: one column left or right.
  for (const [step, label] of [
    [-1, "◀"],
    [1, "▶"],
  ]) {
    const target = state.columns[columnIndex + step];
    if (!target) continue;
    const button = element("button", { type: "button", class: "move", title: `Move to ${target.name}` }, label);
    button.addEventListener("click", () => moveStory(story.key, target.key));
    buttons.append(button);
  }
  const edit = element("button", { type: "button", class: "edit", title: `Edit ${story.key}` }, "Edit");
  edit.addEventListener("click", () => openEditor(story.key));
  buttons.append(edit);
  meta.append(buttons);
  card.append(meta);
  card.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", story.key);
    event.dataTransfer.effectAllowed = "move";
    state.dragging = { key: story.key, from: "board" };
  });
  card.addEventListener("dragend", () => (state.dragging = null));
  return card;
}

// Where a drop lands in a column: just above the first card whose middle is below the
// pointer, else just below the last card. Null neighbours: an empty column.
function dropPlace(section, clientY, draggedKey) {
  const cards = [...section.querySelectorAll(".card")].filter((card) => card.dataset.key !== draggedKey);
  const below = cards.find((card) => {
    const box = card.getBoundingClientRect();
    return clientY < box.top + box.height / 2;
  });
  if (below) return { card: below, before: below.dataset.key };
  const last = cards.at(-1);
  return last ? { card: last, after: last.dataset.key } : {};
}

function clearDropMarks() {
  for (const node of document.querySelectorAll(".drop-before, .drop-after, .drop-target")) {
    node.classList.remove("drop-before", "drop-after", "drop-target");
  }
}

function acceptCardDrops(section, columnKey) {
  section.addEventListener("dragover", (event) => {
    if (state.dragging?.from !== "board") return;
    event.preventDefault();
    clearDropMarks();
    section.classList.add("drop-target");
    const place = dropPlace(section, event.clientY, state.dragging.key);
    place.card?.classList.add(place.before ? "drop-before" : "drop-after");
  });
  section.addEventListener("dragleave", (event) => {
    if (!section.contains(event.relatedTarget)) clearDropMarks();
  });
  section.addEventListener("drop", (event) => {
    event.preventDefault();
    clearDropMarks();
    const key = event.dataTransfer.getData("text/plain");
    const card = state.cards.get(key);
    if (!card) return;
    const { before, after } = dropPlace(section, event.clientY, key);
    if (card.status.key !== columnKey) moveStory(key, columnKey, { before, after });
    else if (before || after) rankStory(key, { before, after });
  });
}

// Runs one change to a story with the version the page last loaded (unless `fields` gives one),
// says what went wrong, and reloads. Returns the story as changed, or null.
async function changeStory(key, operation, field, fields, what) {
  const card = findStory(key);
  document.querySelector(`.card[data-key="${CSS.escape(key)}"]`)?.classList.add("moving");
  let story = null;
  try {
    // expectedVersion: if anyone changed the card since we loaded it, the server records nothing.
    const input = { storyKey: key, expectedVersion: card?.version, clientMutationId: mutationId(), ...fields };
    const payload = (await request(operation, { input }))[field];
    const [error] = payload.errors;
    if (!error) {
      say("");
      story = payload.story;
    } else if (error.code === "CONFLICT") {
      say(`${key} was changed by someone else before you ${what} it, so nothing changed. The board now shows the latest.`, "error");
    } else {
      say(`${key} was not ${what}: ${error.message}`, "error");
    }
  } catch (error) {
    say(`${key} was not ${what}: ${error.message}`, "error");
  }
  await reload();
  return story;
}

function neighbours({ before, after }) {
  return before ? { before } : after ? { after } : {};
}

function moveStory(key, toColumn, place = {}) {
  return changeStory(key, "MoveStory", "moveStory", { toColumn, ...neighbours(place) }, "moved");
}

function rankStory(key, place) {
  return changeStory(key, "RankStory", "rankStory", neighbours(place), "ranked");
}

// ----- creating and editing stories ----------------------------------------------------

async function createStory(event) {
  event.preventDefault();
  const points = $("#new-story-points").value;
  const input = {
    boardKey: state.boardKey,
    title: $("#new-story-title").value.trim(),
    points: points === "" ? null : Number(points),
    clientMutationId: mutationId(),
  };
  try {
    const { createStory: payload } = await request("CreateStory", { input });
    const [error] = payload.errors;
    if (error) {
      say(`The story was not created: ${error.message}`, "error");
      return;
    }
    say(`Created ${payload.story.key}: it is at the bottom of the backlog.`);
    $("#new-story").reset();
  } catch (error) {
    say(`The story was not created: ${error.message}`, "error");
  }
  await reload();
}

function findStory(key) {
  return state.cards.get(key) ?? state.backlog.get(key);
}

function openEditor(key) {
  const story = findStory(key);
  if (!story) return;
  state.editing = story;
  $("#edit-key").textContent = `${story.key} · ${story.status.name}`;
  $("#edit-title").value = story.title;
  $("#edit-points").value = story.points ?? "";
  const assignees = [...new Set([...state.members, ...(story.assignee ? [story.assignee] : [])])];
  $("#edit-assignee").replaceChildren(
    element("option", { value: "" }, "unassigned"),
    ...assignees.map((user) => element("option", { value: user }, user)),
  );
  $("#edit-assignee").value = story.assignee ?? "";
  $("#edit-blocked").hidden = !story.blocked;
  $("#edit-blocked").textContent = story.blocked ? `Blocked: ${story.blockedReason}` : "";
  $("#block-reason").value = "";
  $("#block").hidden = story.blocked;
  $("#block-reason").parentElement.hidden = story.blocked;
  $("#unblock").hidden = !story.blocked;
  $("#story-editor").showModal();
}

function closeEditor() {
  $("#story-editor").close();
  state.editing = null;
}

// Each changed field is one command; each sends the version the one before returned.
async function saveStory(event) {
  event.preventDefault();
  const story = state.editing;
  if (!story) return;
  const title = $("#edit-title").value.trim();
  const pointsText = $("#edit-points").value;
  const points = pointsText === "" ? null : Number(pointsText);
  const assignee = $("#edit-assignee").value || null;
  const changes = [];
  if (title !== story.title) changes.push(["UpdateStory", "updateStory", { title }, "retitled"]);
  if (points !== story.points) changes.push(["EstimateStory", "estimateStory", { points }, "estimated"]);
  if (assignee !== story.assignee) changes.push(["AssignStory", "assignStory", { assignee }, "assigned"]);
  closeEditor();
  let version = story.version;
  for (const [operation, field, fields, what] of changes) {
    const changed = await changeStory(story.key, operation, field, { ...fields, expectedVersion: version }, what);
    if (!changed) return;
    version = changed.version;
  }
}

async function blockStory(event) {
  event.preventDefault();
  const story = state.editing;
  const reason = $("#block-reason").value.trim();
  if (!story) return;
  if (!reason) {
    say(`Say why ${story.key} is blocked: the reason shows on its card.`, "error");
    return;
  }
  closeEditor();
  await changeStory(story.key, "BlockStory", "blockStory", { reason, expectedVersion: story.version }, "blocked");
}

async function unblockStory() {
  const story = state.editing;
  if (!story) return;
  closeEditor();
  await changeStory(story.key, "UnblockStory", "unblockStory", { expectedVersion: story.version }, "unblocked");
}

// ----- burndown ----------------------------------------------------------------------

async function loadBurndown(sprint) {
  const target = $("#burndown");
  if (!sprint) {
    target.textContent = "No active sprint.";
    return;
  }
  try {
    const data = await request("SprintBurndown", { sprintId: sprint.id });
    const legend = element("p", { class: "legend" });
    for (const [cls, label] of [
      ["remaining", "remaining"],
      ["ideal", "ideal"],
      ["scope", "scope"],
    ]) {
      legend.append(element("span", { class: cls }, label));
    }
    target.replaceChildren(burndownChart(data.sprint.burndown, sprint), legend);
  } catch (error) {
    target.textContent = `The burndown is not available: ${error.message}`;
  }
}

function sprintDays(startDate, endDate) {
  const days = [];
  const end = Date.parse(`${endDate}T00:00:00Z`);
  for (let day = Date.parse(`${startDate}T00:00:00Z`); day <= end; day += 86_400_000) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

// About five round steps from 0 to at least `top`: 1, 2 or 5 times a power of ten.
function yTicks(top) {
  const rough = top / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough);
  const ticks = [];
  for (let value = 0; value < top + step; value += step) ticks.push(Number(value.toFixed(6)));
  return ticks;
}

function burndownChart(points, sprint) {
  const width = 480;
  const height = 220;
  const pad = { left: 32, right: 10, top: 10, bottom: 24 };
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Burndown chart" });
  if (!points.length) {
    svg.append(svgElement("text", { x: pad.left, y: height / 2 }, "No days yet"));
    return svg;
  }
  // The x-axis spans the whole sprint, to its last day, however far the sprint has come; a sprint
  // still open after its end date goes on to today (ISO dates compare as strings).
  const lastDay = points.at(-1).date > sprint.endDate ? points.at(-1).date : sprint.endDate;
  const days = sprintDays(sprint.startDate, lastDay);
  const ticks = yTicks(Math.max(1, ...points.map((p) => Math.max(p.scopePoints, p.idealRemainingPoints))));
  const top = ticks.at(-1);
  const dayIndex = (date) => Math.max(0, days.indexOf(date));
  const x = (date) => pad.left + (days.length === 1 ? 0 : (dayIndex(date) * (width - pad.left - pad.right)) / (days.length - 1));
  const y = (value) => pad.top + (1 - value / top) * (height - pad.top - pad.bottom);
  const line = (field, cls) =>
    svgElement("polyline", { class: cls, points: points.map((p) => `${x(p.date)},${y(p[field])}`).join(" ") });
  const bottom = height - pad.bottom;
  for (const value of ticks) {
    svg.append(
      svgElement("line", { class: "tick", x1: pad.left, y1: y(value), x2: width - pad.right, y2: y(value) }),
      svgElement("text", { class: "y-label", x: pad.left - 4, y: y(value) + 3, "text-anchor": "end" }, String(value)),
    );
  }
  svg.append(
    svgElement("line", { class: "axis", x1: pad.left, y1: pad.top, x2: pad.left, y2: bottom }),
    svgElement("line", { class: "axis", x1: pad.left, y1: bottom, x2: width - pad.right, y2: bottom }),
    svgElement("text", { class: "x-label", x: pad.left, y: height - 6 }, days[0]),
    svgElement("text", { class: "x-label", x: width - pad.right, y: height - 6, "text-anchor": "end" }, days.at(-1)),
    line("scopePoints", "scope"),
    line("idealRemainingPoints", "ideal"),
    line("remainingPoints", "remaining"),
  );
  return svg;
}

// ----- sprint planning ---------------------------------------------------------------

async function loadPlanning() {
  const data = await request("Sprints", { boardKey: state.boardKey, state: "PLANNED", first: PLANNED_SHOWN });
  if (!data.board) return;
  const sprints = data.board.sprints.edges.map((edge) => edge.node);
  state.planned = sprints;
  $("#planned-sprints").replaceChildren(...sprints.map(renderPlannedSprint));
  const carry = $("#carry-over").value;
  $("#carry-over").replaceChildren(
    element("option", { value: "" }, "the backlog"),
    ...sprints.map((sprint) => element("option", { value: sprint.id }, sprint.name)),
  );
  if (sprints.some((sprint) => sprint.id === carry)) $("#carry-over").value = carry;
  // The next sprint starts after the last one planned (or the active one) ends.
  const last = sprints.at(-1) ?? state.sprint;
  if (last && !$("#new-sprint").dataset.touched) {
    const start = addDays(last.endDate, 3);
    $("#new-sprint-start").value = start;
    $("#new-sprint-end").value = addDays(start, 11);
  }
}

function addDays(isoDate, days) {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function renderPlannedSprint(sprint) {
  const item = element("li", { class: "planned-sprint", "data-sprint-id": sprint.id, "data-name": sprint.name });
  const points = sprint.stories.edges.reduce((sum, { node }) => sum + (node.points ?? 0), 0);
  const start = element("button", { type: "button", class: "start-sprint" }, "Start");
  start.addEventListener("click", () => startSprint(sprint));
  item.append(
    element("strong", {}, sprint.name),
    ` · ${sprint.startDate} to ${sprint.endDate} · ${sprint.stories.totalCount} stories, ${points} pt `,
    start,
  );
  const list = element("ol", { class: "sprint-stories" });
  list.append(...sprint.stories.edges.map(({ node }) => element("li", { "data-key": node.key }, `${node.key} ${node.title}`)));
  item.append(list);
  item.addEventListener("dragover", (event) => {
    if (state.dragging?.from !== "backlog") return;
    event.preventDefault();
    item.classList.add("drop-target");
  });
  item.addEventListener("dragleave", (event) => {
    if (!item.contains(event.relatedTarget)) item.classList.remove("drop-target");
  });
  item.addEventListener("drop", (event) => {
    event.preventDefault();
    item.classList.remove("drop-target");
    const key = event.dataTransfer.getData("text/plain");
    if (key) addToSprint(sprint, key);
  });
  return item;
}

// A sprint command: says what went wrong, and reloads.
async function sprintCommand(operation, field, input, done) {
  try {
    const payload = (await request(operation, { input: { ...input, clientMutationId: mutationId() } }))[field];
    const [error] = payload.errors;
    if (error) say(`${done.failed}: ${error.message}`, "error");
    else say(done.ok(payload.sprint));
  } catch (error) {
    say(`${done.failed}: ${error.message}`, "error");
  }
  await reload();
}

function addToSprint(sprint, key) {
  return sprintCommand("AddStoryToSprint", "addStoryToSprint", { sprintId: sprint.id, storyKey: key }, {
    ok: () => `Planned ${key} into ${sprint.name}.`,
    failed: `${key} was not planned into ${sprint.name}`,
  });
}

function startSprint(sprint) {
  return sprintCommand("StartSprint", "startSprint", { sprintId: sprint.id, expectedVersion: sprint.version }, {
    ok: () => `Started ${sprint.name}.`,
    failed: `${sprint.name} was not started`,
  });
}

function completeSprint(event) {
  event.preventDefault();
  const sprint = state.sprint;
  if (!sprint) return;
  const input = { sprintId: sprint.id, expectedVersion: sprint.version, carryOverTo: $("#carry-over").value || null };
  return sprintCommand("CompleteSprint", "completeSprint", input, {
    ok: () => `Completed ${sprint.name}.`,
    failed: `${sprint.name} was not completed`,
  });
}

function planSprint(event) {
  event.preventDefault();
  const input = {
    boardKey: state.boardKey,
    name: $("#new-sprint-name").value.trim(),
    startDate: $("#new-sprint-start").value,
    endDate: $("#new-sprint-end").value,
  };
  return sprintCommand("CreateSprint", "createSprint", input, {
    ok: (sprint) => {
      $("#new-sprint").reset();
      delete $("#new-sprint").dataset.touched;
      return `Planned ${sprint.name}: drag stories from the backlog onto it.`;
    },
    failed: "The sprint was not planned",
  });
}

// ----- backlog -----------------------------------------------------------------------

async function loadBacklog(more = false) {
  const after = more ? state.backlogCursor : null;
  const data = await request("Backlog", { boardKey: state.boardKey, first: 20, after });
  if (!data.board) return;
  const page = data.board.backlog;
  if (!more) state.backlog = new Map();
  const items = page.edges.map(({ node }) => {
    state.backlog.set(node.key, node);
    const facts = [node.points == null ? null : `${node.points} pt`, node.assignee].filter(Boolean).join(" · ");
    const text = `${node.key} ${node.title}${facts ? ` (${facts})` : ""} `;
    const item = element("li", { "data-key": node.key, draggable: "true" }, text);
    const edit = element("button", { type: "button", class: "edit", title: `Edit ${node.key}` }, "Edit");
    edit.addEventListener("click", () => openEditor(node.key));
    item.append(edit);
    item.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", node.key);
      event.dataTransfer.effectAllowed = "move";
      state.dragging = { key: node.key, from: "backlog" };
    });
    item.addEventListener("dragend", () => (state.dragging = null));
    return item;
  });
  if (more) $("#backlog").append(...items);
  else $("#backlog").replaceChildren(...items);
  $("#backlog-count").textContent = String(page.totalCount);
  state.backlogCursor = page.pageInfo.endCursor;
  $("#backlog-more").hidden = !page.pageInfo.hasNextPage;
}

// ----- the manager's status update ---------------------------------------------------

async function loadStatus() {
  const draft = await request("StatusDraft", { boardKey: state.boardKey });
  if (!draft.board) return;
  const status = draft.board.statusDraft;
  $("#status-health").textContent = status.health.replace("_", " ").toLowerCase();
  $("#status-health").dataset.health = status.health;
  $("#status-period").textContent = `Since ${status.since.slice(0, 16).replace("T", " ")}`;
  $("#status-reasons").replaceChildren(...status.healthReasons.map((reason) => element("li", {}, reason)));
  $("#status-markdown").textContent = status.markdown;
  if (!$("#publish-form").dataset.touched) $("#publish-health").value = status.health;
}

// Published updates change only when one is published: loaded on open and after a publish.
async function loadStatusUpdates() {
  const published = await request("StatusUpdates", { boardKey: state.boardKey, first: UPDATES_SHOWN });
  if (!published.board) return;
  const updates = published.board.statusUpdates;
  $("#status-count").textContent = String(updates.totalCount);
  $("#status-updates").replaceChildren(
    ...updates.edges.map(({ node }) =>
      element("li", { "data-id": node.id }, `${node.publishedAt.slice(0, 10)} ${node.health} · ${node.summary} (${node.actor})`),
    ),
  );
}

async function publishStatus(event) {
  event.preventDefault();
  const input = {
    boardKey: state.boardKey,
    health: $("#publish-health").value,
    summary: $("#publish-summary").value.trim(),
    clientMutationId: mutationId(),
  };
  try {
    const { publishStatusUpdate: payload } = await request("PublishStatusUpdate", { input });
    const [error] = payload.errors;
    if (error) {
      say(`The update was not published: ${error.message}`, "error");
      return;
    }
    say(`Published the status update of ${payload.statusUpdate.publishedAt.slice(0, 10)}.`);
    $("#publish-summary").value = "";
    delete $("#publish-form").dataset.touched;
  } catch (error) {
    say(`The update was not published: ${error.message}`, "error");
  }
  await reload("updates");
}

// ----- live updates over graphql-transport-ws ------------------------------------

class LiveBoard {
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.socket = null;
    this.attempt = 0;
    this.wanted = false;
  }

  start() {
    this.wanted = true;
    this.connect();
  }

  stop() {
    this.wanted = false;
    this.socket?.close(1000, "live updates turned off");
    this.socket = null;
    this.onState("offline");
  }

  connect() {
    const url = new URL(ENDPOINT, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, "graphql-transport-ws");
    this.socket = socket;
    const send = (message) => socket.send(JSON.stringify(message));
    socket.onopen = () => {
      // The token goes in connection_init: browsers cannot set headers on a WebSocket.
      send({ type: "connection_init", payload: { Authorization: `Bearer ${state.token}` } });
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "connection_ack") {
        const reconnected = this.attempt > 0;
        this.attempt = 0;
        send({
          id: "board",
          type: "subscribe",
          payload: { query: OPERATIONS.BoardEvents, operationName: "BoardEvents", variables: { boardKey: state.boardKey } },
        });
        this.onState("live", reconnected);
      } else if (data.type === "ping") {
        send({ type: "pong" });
      } else if (data.type === "next") {
        if (data.payload.errors?.length) say(data.payload.errors[0].message, "error");
        else this.onEvent(data.payload.data.boardEvents);
      } else if (data.type === "error") {
        say(`Live updates failed: ${data.payload.map((e) => e.message).join("; ")}`, "error");
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return; // replaced or stopped
      this.socket = null;
      if (event.code === 4401 || event.code === 4403) {
        this.wanted = false;
        this.onState("offline");
        say("The server refused this token for live updates.", "error");
        return;
      }
      if (!this.wanted) return;
      this.onState("reconnecting");
      const delay = RECONNECT_MS[Math.min(this.attempt, RECONNECT_MS.length - 1)];
      this.attempt += 1;
      setTimeout(() => this.wanted && !this.socket && this.connect(), delay);
    };
  }
}

let reloadTimer = null; // the refresh due, if any
let lastRefresh = -Infinity; // when the last refresh started (performance.now())
let refreshing = Promise.resolve(); // the refresh under way
let waiting = []; // resolves of reload() calls the refresh due answers
let extras = new Set(); // what the refresh due loads besides the board (see loadAll)
// Resolves once the page shows the board as it is now. Calls close together share one refresh,
// and refreshes start REFRESH_GAP_MS apart: a steady stream of changes refreshes every 2 s, and
// the refresh after the last change shows it. `panels`: "updates", "activity" (see loadAll).
function reload(...panels) {
  // Marks the page busy from now until the board shown is current (tests wait for it too).
  document.body.dataset.loading = "true";
  for (const panel of panels) extras.add(panel);
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (reloadTimer !== null) return; // the refresh due starts later and shows this change too
    const wait = Math.max(RELOAD_DELAY_MS, lastRefresh + REFRESH_GAP_MS - performance.now());
    reloadTimer = setTimeout(refresh, wait);
  });
}

async function refresh() {
  await refreshing; // one at a time: a slow refresh puts the next one off
  reloadTimer = null;
  const done = waiting;
  const panels = extras;
  waiting = [];
  extras = new Set();
  refreshing = loadAll(panels).catch((error) => say(error.message, "error"));
  await refreshing;
  if (reloadTimer === null) delete document.body.dataset.loading;
  for (const resolveOne of done) resolveOne();
}

// Every refresh loads what any change to a story can change: the board, planning, backlog and
// status draft. Published updates and Activity only when asked: after a publish, on open, and
// after a time without live updates (the live feed brings Activity otherwise).
function loadAll(panels = new Set()) {
  lastRefresh = performance.now();
  // Planning proposes the next sprint's dates from the active sprint's: after the board.
  return Promise.all([
    loadBoard().then(loadPlanning),
    loadBacklog(),
    loadStatus(),
    panels.has("updates") && loadStatusUpdates(),
    panels.has("activity") && loadActivity(),
  ]);
}

const EVERYTHING = new Set(["updates", "activity"]);

// ----- activity ------------------------------------------------------------------------

const ACTIVITY_SHOWN = 50;

// Adding a story to a sprint (or removing it) records two events, the sprint's and the story's:
// one line says it. The story's side is known by the same actor, time and story.
const SPRINT_SIDES = new Set(["SprintStoryAdded", "SprintStoryRemoved"]);

function sprintPairKey(entry) {
  let story = null;
  if (entry.eventType === "StorySprintChanged") story = entry.entityKey;
  else if (SPRINT_SIDES.has(entry.eventType)) story = entry.changes[0]?.to ?? entry.changes[0]?.from;
  return story && `${entry.actor}|${entry.occurredAt}|${story}`;
}

// Newest first. An entry already shown (the feed on load, or the live feed again) is skipped;
// returns whether the entry was new.
function showEvent(entry) {
  if (state.activity.has(entry.id)) return false;
  state.activity.add(entry.id);
  const pair = sprintPairKey(entry);
  if (pair && state.activityPairs.has(pair)) return true;
  if (pair) state.activityPairs.add(pair);
  const item = element("li", { "data-id": entry.id, "data-sequence": String(entry.sequence) });
  item.textContent = `${entry.occurredAt.slice(0, 16).replace("T", " ")} ${entry.summary}`;
  const list = $("#activity");
  const later = [...list.children].find((node) => Number(node.dataset.sequence) < entry.sequence);
  list.insertBefore(item, later ?? null);
  while (list.children.length > ACTIVITY_SHOWN) {
    state.activity.delete(list.lastChild.dataset.id);
    list.lastChild.remove();
  }
  return true;
}

async function loadActivity() {
  const data = await request("BoardActivity", { boardKey: state.boardKey, last: 20 });
  for (const { node } of data.board?.history.edges ?? []) showEvent(node);
}

function clearActivity() {
  $("#activity").replaceChildren();
  state.activity = new Set();
  state.activityPairs = new Set();
}

const live = new LiveBoard(
  (entry) => {
    if (showEvent(entry)) reload(...(entry.eventType === "BoardStatusUpdatePublished" ? ["updates"] : []));
  },
  (status, reconnected) => {
    $("#live-state").textContent = status;
    $("#live-state").className = status === "live" ? "badge live" : "badge";
    if (reconnected) reload(...EVERYTHING); // changes may have passed while we were away
  },
);

// ----- switching boards ------------------------------------------------------------------

async function loadBoards() {
  const data = await request("Boards", { first: 100 });
  const keys = data.boards.edges.map(({ node }) => node);
  if (!keys.some((board) => board.key === state.boardKey)) keys.push({ key: state.boardKey, name: "" });
  $("#board-switcher").replaceChildren(
    ...keys.map((board) => element("option", { value: board.key }, board.name ? `${board.key} · ${board.name}` : board.key)),
  );
  $("#board-switcher").value = state.boardKey;
}

async function switchBoard(key) {
  if (key === state.boardKey) return;
  const following = live.wanted;
  live.stop();
  state.boardKey = key;
  sessionStorage.setItem(BOARD_KEY, key);
  $("#board-key").value = key;
  const url = new URL(location.href);
  url.searchParams.set("board", key);
  history.replaceState(null, "", url);
  say(""); // what was said was about the other board
  clearActivity();
  $("#new-sprint").reset();
  delete $("#new-sprint").dataset.touched;
  document.body.dataset.loading = "true";
  try {
    await loadAll(EVERYTHING);
  } catch (error) {
    say(error.message, "error");
  }
  delete document.body.dataset.loading;
  if (following) live.start();
}

// ----- session -------------------------------------------------------------------------

async function open() {
  $("#sign-in").hidden = true;
  $("#session").hidden = false;
  say("");
  clearActivity();
  try {
    await Promise.all([loadAll(EVERYTHING), loadBoards()]);
  } catch (error) {
    if (!(error instanceof RequestError && error.message === "unauthenticated")) say(error.message, "error");
    return;
  }
  if ($("#live").checked) live.start();
}

function signOut(reason = "") {
  live.stop();
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  $("#token").value = "";
  $("#sign-in").hidden = false;
  $("#session").hidden = true;
  $("#app").hidden = true;
  say(reason, reason ? "error" : "info");
}

$("#sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("#token").value.trim();
  state.boardKey = $("#board-key").value.trim().toUpperCase();
  sessionStorage.setItem(TOKEN_KEY, state.token);
  sessionStorage.setItem(BOARD_KEY, state.boardKey);
  open();
});
$("#sign-out").addEventListener("click", () => signOut());
$("#board-switcher").addEventListener("change", (event) => switchBoard(event.target.value));
$("#new-story").addEventListener("submit", createStory);
$("#edit-form").addEventListener("submit", saveStory);
$("#edit-cancel").addEventListener("click", closeEditor);
$("#block-form").addEventListener("submit", blockStory);
$("#unblock").addEventListener("click", unblockStory);
$("#new-sprint").addEventListener("submit", planSprint);
$("#new-sprint").addEventListener("input", () => ($("#new-sprint").dataset.touched = "true"));
$("#complete-form").addEventListener("submit", completeSprint);
$("#publish-form").addEventListener("submit", publishStatus);
$("#publish-health").addEventListener("change", () => ($("#publish-form").dataset.touched = "true"));
$("#backlog-more").addEventListener("click", () => loadBacklog(true).catch((error) => say(error.message, "error")));
$("#live").addEventListener("change", (event) => {
  if (event.target.checked) {
    live.start();
    // What happened while live updates were off; entries already shown are not shown again.
    reload(...EVERYTHING);
  } else {
    live.stop();
  }
});

$("#board-key").value = state.boardKey;
if (state.token) open();

// ----- DOM helpers -------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function svgElement(tag, attributes = {}, text = null) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}
