// Kernel modules a VM needs (9p and virtio for the host share), with their dependencies
// resolved from each module's .modinfo `depends=` (no kmod/depmod on the host needed).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A module's bytes, decompressed when the package ships .ko.xz or .ko.zst. */
function readModule(file: string): Buffer {
  if (file.endsWith('.xz')) return execFileSync('xz', ['-dc', file], { maxBuffer: 256 << 20 });
  if (file.endsWith('.zst')) return execFileSync('zstd', ['-dcq', file], { maxBuffer: 256 << 20 });
  return fs.readFileSync(file);
}

/** The `depends=` list of an ELF64 little-endian kernel module's .modinfo section. */
export function readModinfoDepends(ko: Buffer): string[] {
  if (!ko.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1')) || ko[4] !== 2 || ko[5] !== 1) {
    throw new Error('not an ELF64 little-endian kernel module');
  }
  const shoff = Number(ko.readBigUInt64LE(0x28));
  const shentsize = ko.readUInt16LE(0x3a);
  const shnum = ko.readUInt16LE(0x3c);
  const shstrndx = ko.readUInt16LE(0x3e);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return { name: ko.readUInt32LE(at), offset: Number(ko.readBigUInt64LE(at + 0x18)), size: Number(ko.readBigUInt64LE(at + 0x20)) };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameEnd = ko.indexOf(0, names.offset + s.name);
    if (ko.toString('latin1', names.offset + s.name, nameEnd) !== '.modinfo') continue;
    for (const entry of ko.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      if (entry.startsWith('depends=')) return entry.slice(8).split(',').filter(Boolean);
    }
    return [];
  }
  return [];
}

const canonical = (name: string): string => name.replace(/-/g, '_');

/**
 * `wanted` and everything they depend on, in load order, as [file name, bytes].
 * Modules the package does not ship are built into the kernel and skipped.
 */
export function moduleClosure(kernelDir: string, wanted: string[]): [string, Buffer][] {
  const index = new Map<string, string>();
  for (const base of ['lib/modules', 'usr/lib/modules']) {
    const dir = path.join(kernelDir, base);
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      const m = /^(.*)\.ko(\.xz|\.zst)?$/.exec(entry.name);
      if (entry.isFile() && m) index.set(canonical(m[1]), path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
    }
  }
  const order: [string, Buffer][] = [];
  const seen = new Set<string>();
  const visit = (raw: string): void => {
    const name = canonical(raw);
    if (seen.has(name)) return;
    seen.add(name);
    const file = index.get(name);
    if (!file) return;
    const ko = readModule(file);
    for (const dep of readModinfoDepends(ko)) visit(dep);
    order.push([`${name}.ko`, ko]);
  };
  for (const w of wanted) visit(w);
  return order;
}
