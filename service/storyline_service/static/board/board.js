// Storyline's reference board: plain JavaScript, no build step. It sends only the
// operations of frontend-contract/operations (operations.js holds them verbatim).
import { OPERATIONS } from "./operations.js";

const ENDPOINT = "/graphql";
const TOKEN_KEY = "storyline.token";
const BOARD_KEY = "storyline.board";
const RELOAD_DELAY_MS = 150; // events come in bursts (a sprint start moves many cards): reload once
const RECONNECT_MS = [500, 1000, 2000, 5000];

const $ = (selector) => document.querySelector(selector);

// Set by the server in local mode (`make run` on this machine): a short-lived admin token.
const LOCAL_TOKEN = document.querySelector('meta[name="storyline-local-token"]')?.content || null;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || LOCAL_TOKEN,
  boardKey: new URLSearchParams(location.search).get("board") || sessionStorage.getItem(BOARD_KEY) || "PAY",
  cards: new Map(), // story key -> the StoryCard last loaded
  columns: [],
  backlogCursor: null,
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
  const sprint = data.board.activeSprint;
  const stories = sprint ? sprint.stories.edges.map((edge) => edge.node) : [];
  state.cards = new Map(stories.map((story) => [story.key, story]));
  renderSprint(sprint);
  renderColumns(stories);
  $("#app").hidden = false;
  await loadBurndown(sprint);
}

function renderSprint(sprint) {
  $("#sprint-name").textContent = sprint
    ? `${sprint.name} · ${sprint.startDate} to ${sprint.endDate}`
    : "No active sprint";
  $("#sprint-goal").textContent = sprint?.goal ?? "";
}

function renderColumns(stories) {
  const board = $("#board");
  board.replaceChildren(
    ...state.columns.map((column, index) => {
      const cards = stories.filter((story) => story.status.key === column.key);
      const section = element("section", { class: "column", "data-column": column.key });
      const limit = column.wipLimit == null ? "" : ` / ${column.wipLimit}`;
      const count = element("span", { class: "badge" }, `${cards.length}${limit}`);
      section.append(element("h3", {}, column.name, count));
      if (column.wipLimit != null && cards.length > column.wipLimit) section.classList.add("over-limit");
      const list = element("ol", { class: "cards" });
      list.append(...cards.map((story) => renderCard(story, index)));
      section.append(list);
      acceptDrops(section, column.key);
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
  const meta = element("div", { class: "meta" });
  const points = story.points == null ? "–" : `${story.points} pt`;
  meta.append(element("span", {}, `${points} · ${story.assignee ?? "unassigned"}`));
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
  meta.append(buttons);
  card.append(meta);
  if (story.blocked) card.title = `Blocked: ${story.blockedReason}`;
  card.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", story.key);
    event.dataTransfer.effectAllowed = "move";
  });
  return card;
}

function acceptDrops(section, columnKey) {
  section.addEventListener("dragover", (event) => {
    event.preventDefault();
    section.classList.add("drop-target");
  });
  section.addEventListener("dragleave", () => section.classList.remove("drop-target"));
  section.addEventListener("drop", (event) => {
    event.preventDefault();
    section.classList.remove("drop-target");
    const key = event.dataTransfer.getData("text/plain");
    if (key && state.cards.get(key)?.status.key !== columnKey) moveStory(key, columnKey);
  });
}

async function moveStory(key, toColumn) {
  const card = state.cards.get(key);
  if (!card) return;
  document.querySelector(`.card[data-key="${CSS.escape(key)}"]`)?.classList.add("moving");
  try {
    // expectedVersion: if anyone changed the card since we loaded it, the server records nothing.
    const input = { storyKey: key, toColumn, expectedVersion: card.version, clientMutationId: mutationId() };
    const { moveStory: payload } = await request("MoveStory", { input });
    const [error] = payload.errors;
    if (!error) {
      say("");
    } else if (error.code === "CONFLICT") {
      say(`${key} was changed by someone else before your move, so it was not moved. The board now shows the latest.`, "error");
    } else {
      say(`${key} was not moved: ${error.message}`, "error");
    }
  } catch (error) {
    say(`${key} was not moved: ${error.message}`, "error");
  }
  await reload();
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
    target.replaceChildren(burndownChart(data.sprint.burndown), legend);
  } catch (error) {
    target.textContent = `The burndown is not available: ${error.message}`;
  }
}

function burndownChart(points) {
  const width = 480;
  const height = 220;
  const pad = { left: 32, right: 10, top: 10, bottom: 24 };
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Burndown chart" });
  if (!points.length) {
    svg.append(svgElement("text", { x: pad.left, y: height / 2 }, "No days yet"));
    return svg;
  }
  const top = Math.max(1, ...points.map((p) => Math.max(p.scopePoints, p.idealRemainingPoints)));
  const x = (i) => pad.left + (points.length === 1 ? 0 : (i * (width - pad.left - pad.right)) / (points.length - 1));
  const y = (value) => pad.top + (1 - value / top) * (height - pad.top - pad.bottom);
  const line = (field, cls) =>
    svgElement("polyline", { class: cls, points: points.map((p, i) => `${x(i)},${y(p[field])}`).join(" ") });
  const bottom = height - pad.bottom;
  svg.append(
    svgElement("line", { class: "axis", x1: pad.left, y1: pad.top, x2: pad.left, y2: bottom }),
    svgElement("line", { class: "axis", x1: pad.left, y1: bottom, x2: width - pad.right, y2: bottom }),
    svgElement("text", { x: 2, y: pad.top + 8 }, String(top)),
    svgElement("text", { x: 2, y: bottom }, "0"),
    svgElement("text", { x: pad.left, y: height - 6 }, points[0].date),
    svgElement("text", { x: width - pad.right, y: height - 6, "text-anchor": "end" }, points.at(-1).date),
    line("scopePoints", "scope"),
    line("idealRemainingPoints", "ideal"),
    line("remainingPoints", "remaining"),
  );
  return svg;
}

// ----- backlog -----------------------------------------------------------------------

async function loadBacklog(more = false) {
  const after = more ? state.backlogCursor : null;
  const data = await request("Backlog", { boardKey: state.boardKey, first: 20, after });
  if (!data.board) return;
  const page = data.board.backlog;
  const items = page.edges.map(({ node }) => {
    const points = node.points == null ? "" : ` (${node.points} pt)`;
    return element("li", { "data-key": node.key }, `${node.key} ${node.title}${points}`);
  });
  if (more) $("#backlog").append(...items);
  else $("#backlog").replaceChildren(...items);
  $("#backlog-count").textContent = String(page.totalCount);
  state.backlogCursor = page.pageInfo.endCursor;
  $("#backlog-more").hidden = !page.pageInfo.hasNextPage;
}

// ----- the manager's status update ---------------------------------------------------

async function loadStatus() {
  const [draft, published] = await Promise.all([
    request("StatusDraft", { boardKey: state.boardKey }),
    request("StatusUpdates", { boardKey: state.boardKey, first: 5 }),
  ]);
  if (!draft.board) return;
  const status = draft.board.statusDraft;
  $("#status-health").textContent = status.health.replace("_", " ").toLowerCase();
  $("#status-health").dataset.health = status.health;
  $("#status-period").textContent = `Since ${status.since.slice(0, 16).replace("T", " ")}`;
  $("#status-reasons").replaceChildren(...status.healthReasons.map((reason) => element("li", {}, reason)));
  $("#status-markdown").textContent = status.markdown;
  if (!$("#publish-form").dataset.touched) $("#publish-health").value = status.health;
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
  await reload();
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

let reloadTimer = null;
let reloading = 0;
function reload() {
  clearTimeout(reloadTimer);
  // Marks the page busy from now until the board shown is current (tests wait for it too).
  document.body.dataset.loading = "true";
  return new Promise((resolve) => {
    reloadTimer = setTimeout(async () => {
      reloadTimer = null;
      reloading += 1;
      try {
        await Promise.all([loadBoard(), loadBacklog(), loadStatus()]);
      } catch (error) {
        say(error.message, "error");
      }
      reloading -= 1;
      if (!reloading && reloadTimer === null) delete document.body.dataset.loading;
      resolve();
    }, RELOAD_DELAY_MS);
  });
}

function showEvent(entry) {
  const item = element("li", {}, `${entry.occurredAt.slice(0, 16).replace("T", " ")} ${entry.summary}`);
  $("#activity").prepend(item);
  while ($("#activity").children.length > 50) $("#activity").lastChild.remove();
}

const live = new LiveBoard(
  (entry) => {
    showEvent(entry);
    reload();
  },
  (status, reconnected) => {
    $("#live-state").textContent = status;
    $("#live-state").className = status === "live" ? "badge live" : "badge";
    if (reconnected) reload(); // events may have passed while we were away
  },
);

// ----- session -------------------------------------------------------------------------

async function open() {
  $("#sign-in").hidden = true;
  $("#session").hidden = false;
  say("");
  try {
    await Promise.all([loadBoard(), loadBacklog(), loadStatus()]);
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
$("#publish-form").addEventListener("submit", publishStatus);
$("#publish-health").addEventListener("change", () => ($("#publish-form").dataset.touched = "true"));
$("#backlog-more").addEventListener("click", () => loadBacklog(true).catch((error) => say(error.message, "error")));
$("#live").addEventListener("change", (event) => {
  if (event.target.checked) {
    live.start();
    reload();
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
