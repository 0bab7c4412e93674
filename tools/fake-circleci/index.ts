// Public API of the fake CircleCI API v2.

export {
  World,
  createWorld,
  presets,
  benchmarkOptions,
  DEFAULT_NOW,
  STREAM_NAMES,
  type WorldOptions,
  type WorldInit,
  type PresetName,
  type StreamName,
  type TruthOptions,
  type Json,
  type JsonObject,
  type WorkflowStatus,
} from './world.js';
export {
  routes,
  ROUTE_NAMES,
  INVENTORY_ROUTE_NAMES,
  USAGE_EXPORT_ROUTE_NAMES,
  routeByName,
  matchRoute,
  makePageToken,
  readPageToken,
  type Route,
  type RouteName,
  type InventoryRouteName,
  type UsageExportRouteName,
  type RouteRequest,
  type RouteResponse,
} from './routes.js';
export {
  FaultController,
  createFaults,
  HTML_ERROR_PAGE,
  type FaultOptions,
  type FaultTarget,
  type LatencyOptions,
  type RateLimitOptions,
  type ServerErrorFault,
  type HtmlErrorFault,
} from './faults.js';
export { FakeStats, type StatsSnapshot } from './stats.js';
export {
  FakeCircleCiCore,
  createCore,
  requestToken,
  MESSAGES,
  JSON_CONTENT_TYPE,
  type FakeRequest,
  type Outcome,
  type RequestLogEntry,
} from './dispatch.js';
export {
  deployComponentsTruth,
  deployVersionsTruth,
  envVarsTruth,
  checkoutKeysTruth,
  contextEnvVarsTruth,
  webhooksTruth,
  secretValues,
} from './inventory.js';
export {
  configureUsageExport,
  usageExportJobs,
  usageRowsTruth,
  usageUrlSecrets,
  toCsv,
  USAGE_COLUMNS,
  USAGE_FILES_PREFIX,
  type UsageExportOptions,
  type UsageExportJob,
  type UsageColumn,
  type UsageRow,
} from './usage-export.js';
export { startFakeCircleCi, type StartOptions, type RunningFake } from './server.js';
export { fakeCircleCiHandlers, type MswOptions, type FakeCircleCiHandlers } from './msw.js';
export {
  workflowRunsTruth,
  insightsWorkflowsTruth,
  insightsJobsTruth,
  flakyTestsTruth,
  insightsBranchesTruth,
  orgSummaryTruth,
  REPORTING_WINDOWS,
  type ReportingWindow,
  type BranchScope,
  type RunRange,
} from './insights.js';
