/**
 * The SVG chart of a `sluice perf --workload` run: throughput (publish and consume rates) over
 * time above latency (publish p99, end-to-end p50 and p99) over time, one point per second.
 */
import { lineChart } from './svg-chart.js';
import type { WorkloadResult } from './perf-workload.js';

export function workloadChart(r: WorkloadResult): string {
  const w = r.windows;
  const width = 800;
  const height = 360;
  const rates = lineChart({
    title: `${r.workload}: throughput`,
    xLabel: 'seconds after warm-up',
    yLabel: 'messages/s',
    width,
    height,
    series: [
      { name: 'publish rate', points: w.map((x) => [x.t, x.publishRate]) },
      { name: 'consume rate', points: w.map((x) => [x.t, x.consumeRate]) },
    ],
  });
  const latency = lineChart({
    title: `${r.workload}: latency`,
    xLabel: 'seconds after warm-up',
    yLabel: 'ms',
    width,
    height,
    series: [
      { name: 'publish p99', points: w.map((x) => [x.t, x.publishLatency.p99]) },
      { name: 'end-to-end p50', points: w.map((x) => [x.t, x.endToEndLatency.p50]) },
      { name: 'end-to-end p99', points: w.map((x) => [x.t, x.endToEndLatency.p99]) },
    ],
  });
  // Two charts stacked in one document (nested svg elements are plain SVG 1.1).
  const nest = (svg: string, y: number) => svg.replace('<svg xmlns="http://www.w3.org/2000/svg" ', `<svg y="${y}" `);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height * 2}" viewBox="0 0 ${width} ${height * 2}">`,
    rates === '' ? '' : nest(rates, 0),
    latency === '' ? '' : nest(latency, height),
    '</svg>',
    '',
  ].join('\n');
}
