// Signing up, in and out (SPEC §4), and the signed-in person's profile.

import { api } from "./api.js";
import * as session from "./session.js";
import { clearCache, cached } from "./store.js";

export async function signIn(username, password) {
  const pair = await api("/auth/token/", { method: "POST", body: { username, password }, auth: false });
  clearCache();
  session.start(pair);
  return me();
}

export async function signUp({ username, email, password, base_currency }) {
  const body = { username, email, password };
  if (base_currency) body.base_currency = base_currency.toUpperCase();
  await api("/auth/register/", { method: "POST", body, auth: false });
  return signIn(username, password);
}

/** Blacklists the refresh token on the server, then forgets both tokens here. */
export async function signOut() {
  const refresh = session.refreshToken();
  try {
    if (refresh) await api("/auth/logout/", { method: "POST", body: { refresh } });
  } catch {
    // Already spent or expired: the server has nothing left to revoke.
  } finally {
    clearCache();
    session.end("signed-out");
  }
}

/** GET /auth/me/, once per session. */
export function me() {
  return cached("me", () => api("/auth/me/"));
}
