// Downloading a file the API makes (exports, backups): fetched with the access token in
// the Authorization header — never a token in a URL — and saved through a short-lived
// blob: URL under the name the server's Content-Disposition gives.

import { api } from "../api.js";

/** `attachment; filename="expenses-2026-03-01.csv"` → "expenses-2026-03-01.csv". */
export function attachmentName(disposition, fallback) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || "");
  if (!match) return fallback;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/**
 * GETs path (with query) and saves the answer as a file; resolves with {name, size}.
 * Errors are the api()'s ApiError (a bad filter is a 400 naming the field).
 */
export async function download(path, { query, fallbackName = "download", signal } = {}) {
  const response = await api(path, { query, as: "response", signal });
  const blob = await response.blob();
  const name = attachmentName(response.headers.get("Content-Disposition"), fallbackName);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the blob to the browser's download; free it a moment later.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, size: blob.size };
}

/** 2048 → "2 KB", for saying what was downloaded. */
export function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
