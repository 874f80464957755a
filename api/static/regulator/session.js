// The regulator page's session: the bearer token (sessionStorage, this tab only) and API calls.

const KEY = "herbtrace.regulator.token";

/** An API call that failed; `message` is the server's `reason`, `status` its HTTP status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** Return the stored token, or null when signed out. */
export function storedToken() {
  return sessionStorage.getItem(KEY);
}

/** Forget the token (sign out of this tab). */
export function forgetToken() {
  sessionStorage.removeItem(KEY);
}

/** Fetch `path` with the stored bearer token; resolve to the Response, reject with ApiError. */
export async function apiFetch(path, options = {}) {
  const token = storedToken();
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let reason = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.reason) reason = body.reason;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, reason);
  }
  return response;
}

/** GET (or send `body` with `method`) JSON from the API with the token; resolve to the JSON. */
export async function apiJson(path, method = "GET", body = undefined) {
  const options = { method };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers = { "Content-Type": "application/json" };
  }
  return (await apiFetch(path, options)).json();
}

/**
 * Check `token` with GET /v1/me and keep it if it belongs to a regulator or an admin.
 * Resolves to the principal {name, role, organisation}; rejects with ApiError otherwise
 * (and nothing is kept).
 */
export async function signIn(token) {
  const trimmed = token.trim();
  const response = await fetch("/v1/me", { headers: { Authorization: `Bearer ${trimmed}` } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.reason || `${response.status}`);
  if (!["regulator", "admin"].includes(body.role)) {
    throw new ApiError(403, `这是${body.role}的令牌，本页需要监管或管理员 (a ${body.role} token: this page needs a regulator or an admin)`);
  }
  sessionStorage.setItem(KEY, trimmed);
  return body;
}

/** Resolve to the principal of the stored token, or null (the token is forgotten if refused). */
export async function currentPrincipal() {
  if (!storedToken()) return null;
  try {
    return await signIn(storedToken());
  } catch {
    forgetToken();
    return null;
  }
}

/** Show `message` in the error element `el` (hidden when message is empty). */
export function showError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}
