// Wrong state: one fixed message per state, defined here only. The addon throws the same
// ones: native.ts hands STATE_MESSAGES over at init (the keys are the addon's, kStateKeys
// in src/native/base/errors.cc).
export const CLOSED = 'BpfObject is closed';
export const NOT_LOADED = 'BpfObject is not loaded';
export const LOADED = 'BpfObject is already loaded';
export const LOADING = 'BpfObject is loading';
export const LOAD_FAILED = 'BpfObject failed to load; open it again';
export const PROGRAM_NOT_LOADED = 'Program is not loaded (its autoload was off)';
export const LINK_DESTROYED = 'Link is destroyed';
export const MAP_CLOSED = 'BpfMap is closed';
export const MAP_CREATED = 'BpfMap is already created: its shape is fixed';
export const MAP_NOT_CREATED = 'BpfMap is not created (its autocreate was off)';
export const ITER_CLOSED = 'Iterator is closed';
export const ITER_BUSY = 'Iterator is busy: a read is in progress';
export const RING_BUFFER_CLOSED = 'RingBuffer is closed';
export const PERF_BUFFER_CLOSED = 'PerfBuffer is closed';
export const USER_RING_CLOSED = 'UserRingBuffer is closed';
export const SAMPLE_SUBMITTED = 'UserRingBuffer sample is already submitted';
export const SAMPLE_DISCARDED = 'UserRingBuffer sample is already discarded';

/** The messages the addon throws, by its keys. */
export const STATE_MESSAGES = Object.freeze({
  objectClosed: CLOSED,
  objectNotLoaded: NOT_LOADED,
  objectLoaded: LOADED,
  objectLoading: LOADING,
  objectLoadFailed: LOAD_FAILED,
  programNotLoaded: PROGRAM_NOT_LOADED,
  linkDestroyed: LINK_DESTROYED,
  mapClosed: MAP_CLOSED,
  mapCreated: MAP_CREATED,
  mapNotCreated: MAP_NOT_CREATED,
  iterClosed: ITER_CLOSED,
  iterBusy: ITER_BUSY,
  ringBufferClosed: RING_BUFFER_CLOSED,
  perfBufferClosed: PERF_BUFFER_CLOSED,
  userRingBufferClosed: USER_RING_CLOSED,
});
