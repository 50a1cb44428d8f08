// Chart.js, loaded on the first page that draws a chart (its URL is on <html
// data-chartjs>, so the hashed file name of a production build is used) and coloured
// for the current theme. Chart.js sizes canvases through the CSSOM, which the CSP allows.

import { isDark } from "../theme.js";

let loading = null;

export function loadChart() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = document.documentElement.dataset.chartjs;
      script.onload = () => resolve(window.Chart);
      script.onerror = () => {
        loading = null;
        reject(new Error("The chart library could not be loaded. Reload the page to try again."));
      };
      document.head.append(script);
    });
  }
  return loading;
}

// Distinguishable in light and dark (Tailwind 500/400 tones).
const PALETTE = ["#6366f1", "#10b981", "#f59e0b", "#ef4444", "#06b6d4", "#a855f7", "#84cc16", "#ec4899", "#64748b", "#14b8a6"];

export function palette(i) {
  return PALETTE[i % PALETTE.length];
}

export function chartColors() {
  const dark = isDark();
  return {
    text: dark ? "#cbd5e1" : "#334155",
    grid: dark ? "rgba(148,163,184,0.2)" : "rgba(100,116,139,0.2)",
    surface: dark ? "#0f172a" : "#ffffff",
    expense: dark ? "#f87171" : "#dc2626",
    income: dark ? "#34d399" : "#059669",
  };
}

/**
 * new Chart(canvas, config) after loading; destroys the chart when the page is left. The
 * canvas may not be in the document yet: Chart.js draws it once it is attached.
 */
export async function drawChart(canvas, config, ctx) {
  const Chart = await loadChart();
  if (ctx?.signal?.aborted) return null;
  const colors = chartColors();
  Chart.defaults.color = colors.text;
  Chart.defaults.borderColor = colors.grid;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const chart = new Chart(canvas, config);
  ctx?.onLeave?.(() => chart.destroy());
  return chart;
}
