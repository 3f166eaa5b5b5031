/** Where each panel goes for a terminal of cols × rows. Pure. */
import type { ChartId } from './panels/charts.js';

export const MIN_COLS = 80;
export const MIN_ROWS = 24;
export const HEADER_ROWS = 3;
export const FOOTER_ROWS = 1;
const LOG_MIN_ROWS = 5;
const CHART_MAX_ROWS = 16;
const CHART_ROW_MIN_FOR_GRID = 9;

export interface Rect { top: number; left: number; width: number; height: number }
export type Layout =
  | { kind: 'too-small'; cols: number; rows: number }
  | { kind: 'full'; cols: number; rows: number; header: Rect; charts: Array<{ id: ChartId; rect: Rect }>; table: Rect; log: Rect; footer: Rect };

function splitRow(ids: readonly ChartId[], top: number, cols: number, height: number): Array<{ id: ChartId; rect: Rect }> {
  const base = Math.floor(cols / ids.length);
  return ids.map((id, i) => ({
    id,
    rect: { top, left: i * base, width: i === ids.length - 1 ? cols - i * base : base, height },
  }));
}

/**
 * Where each panel goes for a terminal of cols × rows. `tableRows` is how many
 * worker rows the table should fit (usually --max). Below MIN_COLS × MIN_ROWS
 * the dashboard shows a message instead. `headerRows`: one more with the live page's URL.
 */
export function computeLayout(cols: number, rows: number, tableRows: number, headerRows: number = HEADER_ROWS): Layout {
  if (cols < MIN_COLS || rows < MIN_ROWS) return { kind: 'too-small', cols, rows };
  const HEADER_ROWS = headerRows;
  const header: Rect = { top: 0, left: 0, width: cols, height: HEADER_ROWS };
  const footer: Rect = { top: rows - FOOTER_ROWS, left: 0, width: cols, height: FOOTER_ROWS };
  const bodyTop = HEADER_ROWS;
  const body = rows - HEADER_ROWS - FOOTER_ROWS;
  const tableHeight = Math.min(10, Math.max(5, tableRows + 3));
  const forCharts = body - tableHeight - LOG_MIN_ROWS;

  let charts: Array<{ id: ChartId; rect: Rect }>;
  let chartsHeight: number;
  const gridRow = Math.min(CHART_MAX_ROWS, Math.floor(((body - tableHeight) * 0.65) / 2));
  if (cols >= 100 && gridRow >= CHART_ROW_MIN_FOR_GRID && gridRow * 2 <= forCharts) {
    charts = [...splitRow(['cpu', 'instances'], bodyTop, cols, gridRow), ...splitRow(['requests', 'latency'], bodyTop + gridRow, cols, gridRow)];
    chartsHeight = gridRow * 2;
  } else {
    chartsHeight = Math.min(CHART_MAX_ROWS, forCharts);
    const ids: ChartId[] = cols >= 140 ? ['cpu', 'instances', 'requests', 'latency'] : ['cpu', 'instances', 'requests'];
    charts = splitRow(ids, bodyTop, cols, chartsHeight);
  }
  const table: Rect = { top: bodyTop + chartsHeight, left: 0, width: cols, height: tableHeight };
  const logTop = table.top + tableHeight;
  const log: Rect = { top: logTop, left: 0, width: cols, height: footer.top - logTop };
  return { kind: 'full', cols, rows, header, charts, table, log, footer };
}
