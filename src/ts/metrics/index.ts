// The `node-libbpf/metrics` entry: BPF maps and builtin metrics out to Prometheus
// (prom-client) and OpenTelemetry (@opentelemetry/api), and histograms as text. Neither
// library is loaded here: the adapters take the user's Registry or Meter.
export { PrometheusExporter, SERIES_DROPPED, type PrometheusExporterOptions, type RegistryLike, type MetricNaming } from './prometheus';
export { OpenTelemetryExporter, type MeterLike, type ObservableLike, type BatchResultLike, type InstrumentNaming } from './opentelemetry';
export { Builtins, BUILTIN_FAMILIES, type BuiltinOptions, type FamilyInfo } from './builtins';
export { slotBound, type HistogramOptions, type HistogramSample } from './histogram';
export { type LabelMapper, type Labels, type Sample, type Reading, type SeriesOptions, type ValueOptions } from './read';
export { renderLog2Histogram, renderLinearHistogram, type SlotCounts } from './render';
