/** The charts moved to src/cli/svg-chart.ts, where `sluice perf --workload` draws with them too. */
export * from '../src/cli/svg-chart.js';
