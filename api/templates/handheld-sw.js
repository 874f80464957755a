// The handheld's service worker: it keeps the page, its scripts, its forms, the event
// schema and the catalogue's names, so the page opens with no signal. Each is fetched from
// the network first (within a few seconds) and the kept copy is the fallback; the cache is
// named after a hash of the files, so a new version replaces the old one. API calls are
// never touched: batches and the outbox live in IndexedDB, and POSTs go to the network.
//
// The server prepends SHELL (the paths kept) and VERSION (their hash) to this file.

const CACHE = `herbtrace-handheld-${VERSION}`;
const PAGE = "/handheld";
const WAIT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("herbtrace-handheld-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/** The network's answer within WAIT_MS, kept for next time; else the kept copy. */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), WAIT_MS);
  try {
    const response = await fetch(request, { signal: controller.signal });
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(networkFirst(request, PAGE)); // any ?batch= opens the one page
  } else if (SHELL.includes(url.pathname) && !url.search) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
