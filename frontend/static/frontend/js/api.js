// The one way pages talk to the REST API (/api/v1/, SPEC §3): JSON in and out, the access
// token attached, a 401 answered by one transparent refresh and a retry, and every
// failure thrown as an ApiError carrying the API's message and field errors.

import * as session from "./session.js";

const BASE = "/api/v1";

export class ApiError extends Error {
  /**
   * status: HTTP status (0: the server could not be reached); code: the API's `code`;
   * fields: {field: [messages]} of a 400 (including `non_field_errors`).
   */
  constructor(message, { status = 0, code = "", fields = {} } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

/** The records of the current book: `/expenses/` → `/books/7/expenses/` when one is chosen. */
let currentBook = null;
export function setBook(id) {
  currentBook = id || null;
}
export function book() {
  return currentBook;
}
export function bookPath(path) {
  return currentBook ? `/books/${currentBook}${path}` : path;
}

function url(path, query) {
  // `next` links of paged lists are absolute; keep only path and query, so a proxy's idea
  // of the scheme or host can never send a request elsewhere (connect-src 'self').
  const target = /^https?:/.test(path) ? new URL(path) : new URL(BASE + path, location.origin);
  const result = new URL(target.pathname + target.search, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    for (const item of [value].flat()) {
      if (item !== null && item !== undefined && item !== "") result.searchParams.append(key, item);
    }
  }
  return result.pathname + result.search;
}

/**
 * api("/expenses/", {method: "POST", body: {...}}) → the parsed JSON (null for 204).
 * Options: query (object; arrays repeat the parameter), body (JSON) or form (FormData,
 * for uploads), auth (default true), as: "json" | "blob" | "response".
 */
export async function api(path, { method = "GET", query, body, form, auth = true, as = "json", signal } = {}) {
  const target = url(path, query);
  const send = async (token) => {
    const headers = { Accept: as === "json" ? "application/json" : "*/*" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetch(target, {
        method,
        headers,
        body: form || (body !== undefined ? JSON.stringify(body) : undefined),
        credentials: "omit",
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("The server could not be reached. Check your connection and try again.");
    }
  };

  let token = null;
  if (auth) {
    token = session.accessToken() || (session.signedIn() ? await refreshed() : null);
    if (!token) throw new ApiError("Your session has ended. Sign in again.", { status: 401, code: "not_authenticated" });
  }
  let response = await send(token);
  if (response.status === 401 && auth) {
    // Another call may have refreshed meanwhile; otherwise refresh once, then retry once.
    const current = session.accessToken();
    const next = current && current !== token ? current : await refreshed();
    if (!next) throw new ApiError("Your session has ended. Sign in again.", { status: 401, code: "not_authenticated" });
    response = await send(next);
  }
  if (!response.ok) throw await toError(response);
  if (as === "response") return response;
  if (as === "blob") return response.blob();
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

async function refreshed() {
  try {
    return await session.refreshAccess();
  } catch {
    throw new ApiError("The server could not be reached. Check your connection and try again.");
  }
}

const STATUS_MESSAGES = {
  401: "Your session has ended. Sign in again.",
  403: "You are not allowed to do that.",
  404: "That was not found. It may have been deleted.",
  409: "That conflicts with the current state of your records. Reload and try again.",
  413: "The file is too large.",
  415: "That kind of file is not accepted.",
  429: "Too many attempts. Wait a minute and try again.",
};

async function toError(response) {
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  const status = response.status;
  if (data && typeof data === "object" && !Array.isArray(data) && typeof data.detail === "string") {
    return new ApiError(data.detail, { status, code: data.code || "" });
  }
  if (status === 400 && data && typeof data === "object") {
    const fields = Array.isArray(data) ? { non_field_errors: data } : data;
    return new ApiError(firstMessage(fields) || "Some values need fixing.", { status, code: "invalid", fields });
  }
  const message = STATUS_MESSAGES[status] || `Something went wrong on the server (${status}). Try again in a moment.`;
  return new ApiError(message, { status });
}

/** The first message of a field-errors object, however deeply nested (e.g. split.parts). */
export function firstMessage(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstMessage(item);
      if (found) return found;
    }
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) {
      const found = firstMessage(item);
      if (found) return found;
    }
  }
  return "";
}

/** Every page of a page-numbered list (small lists only: categories, currencies). */
export async function all(path, query = {}) {
  const rows = [];
  let next = path;
  let params = { page_size: 500, ...query };
  while (next) {
    const page = await api(next, { query: params });
    rows.push(...page.results);
    next = page.next;
    params = undefined;
  }
  return rows;
}
