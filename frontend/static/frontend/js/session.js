// Where the tokens live (docs/webapp.md): the access token only in this module's memory,
// the refresh token in localStorage so a reload or a new tab stays signed in. Refresh
// tokens rotate on every use and the old one is blacklisted, so each is spent once; this
// module makes sure one refresh runs at a time — in this tab (one shared promise) and
// across tabs (a Web Lock; the token is re-read inside it, as another tab may have rotated
// it meanwhile).

const REFRESH_KEY = "bt.refresh";
const REFRESH_URL = "/api/v1/auth/token/refresh/";

let access = null;
let refreshing = null;
const listeners = new Set();

export function accessToken() {
  return access;
}

export function refreshToken() {
  return localStorage.getItem(REFRESH_KEY);
}

/** Whether a session exists (possibly needing a refresh before the first call). */
export function signedIn() {
  return Boolean(access || refreshToken());
}

export function start(pair) {
  access = pair.access;
  localStorage.setItem(REFRESH_KEY, pair.refresh);
  emit("start");
}

/** Forgets both tokens; listeners send the person to the sign-in page. */
export function end(reason = "signed-out") {
  const had = signedIn();
  access = null;
  localStorage.removeItem(REFRESH_KEY);
  if (had) emit("end", reason);
}

/** Calls fn(event, detail) on "start" and "end"; returns the unsubscribe function. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit(event, detail) {
  for (const fn of [...listeners]) fn(event, detail);
}

/**
 * A new access token from the refresh token, or null when the session is over (the
 * refresh token expired or was revoked: the session ends). Concurrent callers share one
 * request. A network failure rejects without ending the session.
 */
export function refreshAccess() {
  if (!refreshing) {
    const run = () => exchange().finally(() => (refreshing = null));
    refreshing = navigator.locks ? navigator.locks.request("bt-token-refresh", run) : run();
  }
  return refreshing;
}

async function exchange() {
  const token = refreshToken();
  if (!token) {
    end("expired");
    return null;
  }
  const response = await fetch(REFRESH_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ refresh: token }),
    credentials: "omit",
  });
  if (response.status === 400 || response.status === 401) {
    end("expired");
    return null;
  }
  if (!response.ok) throw new Error(`Refreshing the session failed (${response.status}).`);
  const pair = await response.json();
  access = pair.access;
  localStorage.setItem(REFRESH_KEY, pair.refresh);
  return access;
}

// Signing out in another tab signs this one out too.
window.addEventListener("storage", (event) => {
  if (event.key === REFRESH_KEY && !event.newValue && access) {
    access = null;
    emit("end", "signed-out");
  }
});
