// The import wizard's column mapping (SPEC §11): which roles a statement column can play,
// the header cells of a CSV read in the browser (so the mapping offers the file's own
// column names), and the upload options a mapping form stands for. The server still
// does all the parsing; this only reads the first lines to name the choices.

export const ROLES = [
  { name: "date", label: "Date" },
  { name: "description", label: "Description" },
  { name: "amount", label: "Amount", hint: "One signed column; or Money out + Money in instead." },
  { name: "debit", label: "Money out (debit)" },
  { name: "credit", label: "Money in (credit)" },
  { name: "merchant", label: "Payee / merchant" },
  { name: "currency", label: "Currency" },
  { name: "direction", label: "Credit/debit marker" },
];

export const TABLE_FORMATS = new Set(["csv", "xlsx"]);

/** The format a file name suggests for the mapping (the server sniffs the real one). */
export function tableKind(file, chosen) {
  if (chosen && chosen !== "auto") return TABLE_FORMATS.has(chosen) ? chosen : null;
  const name = (file?.name || "").toLowerCase();
  if (name.endsWith(".xlsx")) return "xlsx";
  if (/\.(csv|txt|tsv)$/.test(name)) return "csv";
  return null;
}

const DELIMITERS = [",", ";", "\t", "|"];

/** One CSV line into cells (quotes and doubled quotes understood). */
export function splitLine(line, delimiter) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) {
      cells.push(cell.trim());
      cell = "";
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

function decode(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("windows-1252").decode(bytes);
  }
}

/**
 * The header cells of a CSV file: the row after `skipRows` lines when given, else the
 * first row with as many cells as most rows have (metadata lines above it are skipped).
 * Returns [] when no header can be told (the mapping then offers column numbers).
 */
export async function csvHeader(file, { delimiter = "", skipRows = null } = {}) {
  // A statement that does not fit in the first 64 KB does not have its header there.
  const text = decode(new Uint8Array(await file.slice(0, 64 * 1024).arrayBuffer())).replace(/^\ufeff/, "");
  const lines = text.split(/\r*\n|\r/).filter((line) => line.trim()).slice(0, 50);
  if (!lines.length) return [];
  const sep =
    delimiter ||
    DELIMITERS.map((d) => [d, lines.map((l) => splitLine(l, d).length)])
      .map(([d, counts]) => [d, mode(counts), counts.filter((n) => n === mode(counts)).length])
      .filter(([, width]) => width > 1)
      .sort((a, b) => b[2] - a[2] || b[1] - a[1])[0]?.[0];
  if (!sep) return [];
  const rows = lines.map((l) => splitLine(l, sep));
  let header;
  if (skipRows !== null && skipRows !== "" && Number.isInteger(Number(skipRows))) {
    header = rows[Number(skipRows)];
  } else {
    const width = mode(rows.map((r) => r.length));
    header = rows.find((r) => r.length === width);
  }
  return (header || []).filter((cell) => cell !== "").length >= 2 ? header : [];
}

function mode(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
}

/** "A", "B", … "Z", "AA": spreadsheet column letters for 0-based indices. */
export function columnLetter(index) {
  let n = index + 1;
  let out = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    out = String.fromCharCode(65 + r) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

/**
 * The choices of a role's select: the header's names (value = the name), or, without a
 * header, column numbers (value = "#<0-based index>").
 */
export function columnChoices(header, kind) {
  if (header.length) {
    return header.map((name, i) => ({ value: name || `#${i}`, label: name || `Column ${i + 1} (no name)` }));
  }
  return Array.from({ length: 12 }, (_, i) => ({ value: `#${i}`, label: kind === "xlsx" ? `Column ${columnLetter(i)}` : `Column ${i + 1}` }));
}

/** The form's mapping values → the upload's option fields (only what was chosen). */
export function uploadOptions(values) {
  const options = {};
  const columns = {};
  for (const { name } of ROLES) {
    const chosen = values[`col_${name}`];
    if (!chosen) continue;
    columns[name] = chosen.startsWith("#") ? Number(chosen.slice(1)) : chosen;
  }
  if (Object.keys(columns).length) options.columns = JSON.stringify(columns);
  if (values.delimiter) options.delimiter = values.delimiter === "tab" ? "\t" : values.delimiter;
  if (values.date_format) options.date_format = values.date_format;
  if (values.decimal_separator) options.decimal_separator = values.decimal_separator;
  if (values.skip_rows !== "" && values.skip_rows !== undefined) options.skip_rows = values.skip_rows;
  if (values.negate) options.negate = "true";
  return options;
}
