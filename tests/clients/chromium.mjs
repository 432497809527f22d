// Headless Debian Chromium through playwright-core, shared by the scripts that drive /board.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// A fresh profile each run: no token or board left in storage by an earlier run.
// `args`: more Chromium flags, e.g. --host-resolver-rules to take other hosts off the network.
export async function launch(executablePath, { args = [] } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), "storyline-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [...FLAGS, ...args],
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const close = async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { page, close };
}

// Page errors, console errors and failed requests, as they happen.
export function watch(page) {
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // Failed requests are reported below, with the operation they carried.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    let operation = response.url();
    try {
      operation = JSON.parse(response.request().postData() ?? "").operationName ?? operation;
    } catch {}
    problems.push(`HTTP ${response.status()} ${operation}`);
  });
  return problems;
}

// A plain GraphQL-over-HTTP client for the contract's operations: send(token, operationName, variables)
// answers the data, and throws on errors. `config` names baseUrl and operations (name -> document).
export function client(config) {
  return async function send(token, operationName, variables) {
    const response = await fetch(`${config.baseUrl}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: config.operations[operationName], operationName, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(`${operationName}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
}
