// Wrong state: one fixed message per state (the addon uses the same strings).
export const CLOSED = 'BpfObject is closed';
export const NOT_LOADED = 'BpfObject is not loaded';
export const LOADED = 'BpfObject is already loaded';
export const LOADING = 'BpfObject is loading';
export const LOAD_FAILED = 'BpfObject failed to load; open it again';
export const LINK_DESTROYED = 'Link is destroyed';
export const MAP_CLOSED = 'BpfMap is closed';
export const USER_RING_CLOSED = 'UserRingBuffer is closed';
export const SAMPLE_SUBMITTED = 'UserRingBuffer sample is already submitted';
export const SAMPLE_DISCARDED = 'UserRingBuffer sample is already discarded';
