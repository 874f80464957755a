// Batches kept for offline use. Every batch opened online is kept with its events; an
// operator's token (typed at enrolment or when refreshing, never stored) lists every batch
// the device's organisation owns or holds, and the names of organisations and sites.
// Without a token, the batches already kept are brought up to date from the public reads.
// Each kept batch remembers when it was fetched, so the page can say how old it is.

import { all, get, put, remove } from "./store.js";

const PAGE = 500;

/** A cached lookup that failed; `status` is the HTTP status (0 when there was no answer). */
export class CacheError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path, token) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { headers });
  } catch {
    throw new CacheError(0, "no answer");
  }
  if (!response.ok) throw new CacheError(response.status, `HTTP ${response.status}`);
  return response.json();
}

async function allPages(path, token) {
  const out = [];
  let after = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const more = after == null ? "" : `&after=${encodeURIComponent(after)}`;
    const page = await getJson(`${path}${sep}limit=${PAGE}${more}`, token);
    out.push(...page.items);
    after = page.next_after;
  } while (after != null);
  return out;
}

/** Fetch batch `id` and its events from the server, keep them, and return {batch, events, at}. */
export async function fetchBatch(id) {
  const path = `/v1/batches/${encodeURIComponent(id)}`;
  let found;
  try {
    found = { batch: await getJson(path), events: await allPages(`${path}/events`), at: Date.now() };
  } catch (err) {
    if (err.status === 404) await remove("batches", id);
    throw err;
  }
  await put("batches", found);
  return found;
}

/** The kept copy of batch `id` ({batch, events, at}), or undefined. */
export function keptBatch(id) {
  return get("batches", id);
}

/** Every kept batch. */
export function keptBatches() {
  return all("batches");
}

/**
 * With an operator's `token`, list every batch `organisation` owns or holds and keep each
 * with its events; keep the names of every organisation and of the organisation's sites.
 * Resolves to how many batches were kept.
 */
export async function refreshAll(token, organisation) {
  const org = encodeURIComponent(organisation);
  const listed = await allPages(`/v1/batches?organisation=${org}`, token);
  const organisations = await allPages("/v1/organisations", token);
  const sites = await allPages(`/v1/sites?organisation=${org}`, token);
  const names = Object.fromEntries([...organisations, ...sites].map((o) => [o.id, o.name]));
  await put("names", names, "names");
  for (const batch of listed) await fetchBatch(batch.id);
  await put("names", Date.now(), "listed_at");
  return listed.length;
}

/** Bring every kept batch up to date from the public reads; resolves to how many answered. */
export async function refreshKept() {
  let fresh = 0;
  for (const { batch } of await keptBatches()) {
    try {
      await fetchBatch(batch.id);
      fresh += 1;
    } catch (err) {
      if (err.status === 0) break; // offline again
    }
  }
  return fresh;
}

/** The names of organisations and sites ({id: name}) kept by the last refresh. */
export async function keptNames() {
  return (await get("names", "names")) || {};
}

/** When the organisation's batches were last listed (ms since the epoch), or undefined. */
export function listedAt() {
  return get("names", "listed_at");
}
