// Chart.js, registered once with only the parts the console uses (line charts on a category axis),
// so the bundle stays small. Chart.js draws on a canvas: no inline script, fine under our CSP.
import {
  CategoryScale,
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
} from "chart.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Filler, Tooltip, Legend);

export { Chart };

/** Series colours, matched by the legend swatches in the markup. */
export const SERIES = { cpu: "#2563eb", memory: "#9333ea" } as const;
