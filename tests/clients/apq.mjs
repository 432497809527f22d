// Apollo Client's and urql's Automatic Persisted Queries against a live server, unchanged.
// Usage: node apq.mjs <config.json>, where the config names baseUrl, token, query (a query taking
// $key), mutation (a mutation taking $key and $name), both named OPERATION, and keys (three new
// board keys). Each client runs the query twice and the mutation once, under operation names of its
// own (so each starts with documents the server has not seen), which also names its board; every
// HTTP request is recorded.
// Prints one JSON line describing what happened; the Python test checks it against the server.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, fetchExchange } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const url = `${config.baseUrl}/graphql`;
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

// fetch that notes what each request carried and what came back.
function recordingFetch(requests) {
  return async (input, init = {}) => {
    const target = new URL(typeof input === "string" ? input : input.url);
    const method = init.method ?? "GET";
    const sent =
      method === "GET"
        ? Object.fromEntries(
            [...target.searchParams].map(([k, v]) => [k, ["variables", "extensions"].includes(k) ? JSON.parse(v) : v]),
          )
        : JSON.parse(init.body);
    const response = await fetch(input, init);
    const body = await response.clone().json();
    requests.push({
      method,
      hasQuery: typeof sent.query === "string",
      sha256Hash: sent.extensions?.persistedQuery?.sha256Hash ?? null,
      querySha256: typeof sent.query === "string" ? sha256(sent.query) : null,
      status: response.status,
      errors: (body.errors ?? []).map((e) => ({ message: e.message, code: e.extensions?.code })),
    });
    return response;
  };
}

const headers = { Authorization: `Bearer ${config.token}` };

const named = (document, name) => document.replace("OPERATION", name);

async function apollo(useGETForHashedQueries, boardKey) {
  const name = useGETForHashedQueries ? "ApolloGet" : "ApolloPost";
  const requests = [];
  const link = createPersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
    new HttpLink({ uri: url, headers, fetch: recordingFetch(requests) }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const query = gql(named(config.query, name));
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const { data } = await client.query({ query, variables: { key: "PAY" }, fetchPolicy: "no-cache" });
    runs.push(data);
  }
  const mutation = gql(named(config.mutation, name));
  const { data: mutated } = await client.mutate({ mutation, variables: { key: boardKey, name } });
  return { requests, runs, mutated };
}

async function urql(boardKey) {
  const requests = [];
  const client = new Client({
    url,
    fetch: recordingFetch(requests),
    fetchOptions: { headers },
    requestPolicy: "network-only",
    exchanges: [persistedExchange({ enableForMutation: true }), fetchExchange],
  });
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const result = await client.query(named(config.query, "Urql"), { key: "PAY" }).toPromise();
    if (result.error) throw result.error;
    runs.push(result.data);
  }
  const mutation = named(config.mutation, "Urql");
  const result = await client.mutation(mutation, { key: boardKey, name: "Urql" }).toPromise();
  if (result.error) throw result.error;
  return { requests, runs, mutated: result.data };
}

const [postKey, getKey, urqlKey] = config.keys;
const result = {
  apolloPost: await apollo(false, postKey),
  apolloGet: await apollo(true, getKey),
  urql: await urql(urqlKey),
};
console.log(JSON.stringify(result));
