// BpfMap and what comes with it: kinds and flags, key codecs for maps without BTF, batched
// iteration, mmap()ed memory and byte-level access.
export { BpfMap, type CreateOptions, type MapInfo, type MapOwner } from './map';
export { MapFlags, numPossibleCpus, type UpdateFlag } from './kinds';
export { type FdValue, type LpmKey, type TypeSpec } from './key-codecs';
export { MapMemory } from './memory';
export { RawMap } from './raw';
export { refineMapLoadError } from './load-hints';
export { checkMapMemory, innerMapShapes, type MapShape } from './memory-limit';
export { checkMapDefinitions } from './definitions';
