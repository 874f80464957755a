// The handheld's IndexedDB: the device's key and chain head ("device" store, key "self"),
// the pinned log key ("device", key "log"), the outbox of signed envelopes ("outbox",
// keyed by the envelope's sequence number), the batches kept for offline use ("batches",
// keyed by batch ID) and the names that label them ("names": organisations, sites, when
// the list was last fetched). The private key is a non-extractable CryptoKey:
// IndexedDB keeps the object, and no script can read its bytes.

const DB_NAME = "herbtrace-handheld";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let opened;

/** Open (and on first use create) the database. */
export function openStore() {
  if (!opened) {
    const req = indexedDB.open(DB_NAME, 2);
    req.onupgradeneeded = (event) => {
      if (event.oldVersion < 1) {
        req.result.createObjectStore("device");
        req.result.createObjectStore("outbox", { keyPath: "seq" });
      }
      if (event.oldVersion < 2) {
        req.result.createObjectStore("batches", { keyPath: "batch.id" });
        req.result.createObjectStore("names");
      }
    };
    opened = request(req);
  }
  return opened;
}

/** Read one value (undefined when absent). */
export async function get(store, key) {
  const db = await openStore();
  return request(db.transaction(store).objectStore(store).get(key));
}

/** Write one value; `key` is omitted for the outbox, whose records carry their `seq`. */
export async function put(store, value, key) {
  const db = await openStore();
  const tx = db.transaction(store, "readwrite");
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  if (key === undefined) tx.objectStore(store).put(value);
  else tx.objectStore(store).put(value, key);
  return done;
}

/** Delete one value (nothing happens when it is absent). */
export async function remove(store, key) {
  const db = await openStore();
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).delete(key);
  return new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
}

/** Every record of a store, in key order. */
export async function all(store) {
  const db = await openStore();
  return request(db.transaction(store).objectStore(store).getAll());
}
