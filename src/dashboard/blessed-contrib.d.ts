/** The part of blessed-contrib (no published types) that the dashboard uses. */
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed';

  export interface LineSeries {
    title: string;
    x: string[];
    y: number[];
    style?: { line?: string };
  }

  export interface LineOptions extends Widgets.BoxOptions {
    showLegend?: boolean;
    legend?: { width?: number };
    minY?: number;
    maxY?: number;
    numYLabels?: number;
    wholeNumbersOnly?: boolean;
    xLabelPadding?: number;
    xPadding?: number;
    showNthLabel?: number;
    style?: Widgets.Types.TStyle & { line?: string; text?: string; baseline?: string };
  }

  export interface LineElement extends Widgets.BoxElement {
    options: LineOptions;
    setData(data: LineSeries[]): void;
  }

  export function line(options: LineOptions): LineElement;

  const contrib: { line: typeof line };
  export default contrib;
}
