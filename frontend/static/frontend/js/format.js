// Numbers, money and dates in the browser's locale. Amounts arrive from the API as decimal
// strings and are only ever displayed here, never added up: totals come from the API.

export const locale = (navigator.languages && navigator.languages[0]) || navigator.language || "en-US";

const moneyFormats = new Map();

/** "1234.5", "EUR" → "€1,234.50" (or "1.234,50 €" in a German browser). */
export function money(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return "—";
  let format = moneyFormats.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(locale, { style: "currency", currency });
    } catch {
      format = new Intl.NumberFormat(locale, { minimumFractionDigits: 2 });
    }
    moneyFormats.set(currency, format);
  }
  // Intl formats a decimal string exactly; Number() is only a fallback for old engines.
  try {
    return format.format(amount);
  } catch {
    return format.format(Number(amount));
  }
}

/** "12500", "USD" → "$13K": for chart axes, where space is short. */
export function compactMoney(amount, currency) {
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency, notation: "compact" }).format(amount);
  } catch {
    return money(amount, currency);
  }
}

const percentFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });

/** "83.5" → "83.5 %" in the locale's digits; null → "—". */
export function percent(value) {
  if (value === null || value === undefined || value === "") return "—";
  return `${percentFormat.format(Number(value))} %`;
}

/** "2026-03-14" as a local calendar date (no time zone shift). */
export function parseDate(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return new Date(y, m - 1, d || 1);
}

const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
const shortDateFormat = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });
const monthFormat = new Intl.DateTimeFormat(locale, { month: "long", year: "numeric" });
const shortMonthFormat = new Intl.DateTimeFormat(locale, { month: "short", year: "2-digit" });

export function date(iso) {
  return iso ? dateFormat.format(parseDate(iso)) : "—";
}

export function shortDate(iso) {
  return iso ? shortDateFormat.format(parseDate(iso)) : "—";
}

/** "2026-03" or "2026-03-25" → "March 2026". */
export function month(iso) {
  return monthFormat.format(parseDate(iso.length === 7 ? `${iso}-01` : iso));
}

export function shortMonth(iso) {
  return shortMonthFormat.format(parseDate(iso.length === 7 ? `${iso}-01` : iso));
}

/** A Date as YYYY-MM-DD in local time (what a date input and the API take). */
export function isoDate(d = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const relativeFormat = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });

/** An ISO timestamp relative to now: "3 hours ago", "yesterday". */
export function ago(timestamp) {
  const seconds = (new Date(timestamp).getTime() - Date.now()) / 1000;
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relativeFormat.format(Math.round(value), unit);
    value /= size;
  }
  return "";
}
