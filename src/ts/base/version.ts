import { addon } from './native';

/** The version of the libbpf linked into the addon, e.g. 'v1.7'. */
export function libbpfVersion(): string {
  return addon.libbpfVersion();
}
