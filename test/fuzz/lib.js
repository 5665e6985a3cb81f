// Shared by the fuzzer (scripts/fuzz.js) and the replay test: targets, seeds, mutations, and
// a child process that runs inputs and reports crashes and hangs.
'use strict';
const { fork } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CORPUS = path.join(__dirname, 'corpus');
const CRASHES = path.join(__dirname, 'crashes');

/**
 * Every target in test/fuzz/targets/*.js: { name, run(bytes) -> outcome, extraSeeds?(root,
 * helpers), hotSections? }. A new reader (the DWARF reader in src/ts/dwarf/) joins the
 * fuzzer by adding targets/<name>.js and seeds under corpus/<name>/.
 */
function loadTargets() {
  const dir = path.join(__dirname, 'targets');
  const out = {};
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.js')).sort()) {
    const t = require(path.join(dir, f));
    out[t.name] = t;
  }
  return out;
}

/** An ELF64 little-endian section by name: { offset, size }, or undefined. */
function sectionRange(elf, name) {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return undefined;
  try {
    const shoff = Number(elf.readBigUInt64LE(0x28));
    const shentsize = elf.readUInt16LE(0x3a);
    const shnum = elf.readUInt16LE(0x3c);
    const shstrndx = elf.readUInt16LE(0x3e);
    const header = (i) => {
      const at = shoff + i * shentsize;
      return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
    };
    const strtab = header(shstrndx);
    for (let i = 0; i < shnum; i++) {
      const h = header(i);
      const at = strtab.offset + h.name;
      if (elf.toString('latin1', at, elf.indexOf(0, at)) === name) return { offset: h.offset, size: h.size };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function elfSection(elf, name) {
  const r = sectionRange(elf, name);
  return r ? elf.subarray(r.offset, r.offset + r.size) : undefined;
}

/** Seeds of a target: corpus/<name>/* plus what the target adds (the built fixtures). */
function seeds(target) {
  const dir = path.join(CORPUS, target.name);
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f))) : [];
  const extra = target.extraSeeds ? target.extraSeeds(ROOT, { elfSection }) : [];
  return [...files, ...extra].filter((b) => b.length > 0);
}

// Small deterministic PRNG (xorshift32), so a run is reproducible from its seed.
function rng(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  return { next, below: (n) => next() % n, chance: (p) => next() / 0x100000000 < p };
}

const U32 = [0, 1, 2, 3, 4, 7, 8, 16, 31, 32, 63, 64, 127, 128, 255, 256, 0x7fff, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const BYTES = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x40];

/**
 * One mutation of `input`: bit flips, interesting bytes and u32 words (BTF's type ids, kinds,
 * sizes and vlen are u32 fields), chunk copies from another seed, truncation. `region`
 * ({ offset, size }) concentrates them in one section.
 */
function mutate(input, r, other, region) {
  const out = Buffer.from(input);
  const lo = region ? region.offset : 0;
  const span = region ? region.size : out.length;
  if (span <= 0) return out;
  const at = () => lo + r.below(span);
  const n = 1 + r.below(r.chance(0.8) ? 4 : 32);
  for (let i = 0; i < n; i++) {
    switch (r.below(7)) {
      case 0: { const p = at(); out[p] ^= 1 << r.below(8); break; }
      case 1: out[at()] = BYTES[r.below(BYTES.length)]; break;
      case 2: case 3: {
        const p = (at() & ~3) >>> 0;
        if (p + 4 <= out.length) out.writeUInt32LE(r.chance(0.5) ? U32[r.below(U32.length)] : r.below(64), p);
        break;
      }
      case 4: { // small type ids into the "type" words of BTF records
        const p = (at() & ~3) >>> 0;
        if (p + 4 <= out.length) out.writeUInt32LE(r.below(16), p);
        break;
      }
      case 5: if (other && other.length > 8 && out.length > 8) {
        const len = 1 + r.below(Math.min(64, other.length, out.length));
        const from = r.below(other.length - len + 1);
        other.copy(out, Math.max(0, Math.min(at(), out.length - len)), from, from + len);
        break;
      }
      // falls through
      default: { const p = at(); out[p] = r.below(256); }
    }
  }
  if (r.chance(0.02)) return out.subarray(0, r.below(out.length + 1));
  return out;
}

function sha(bytes) {
  return crypto.createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}

/**
 * A worker child process. run(target, file, timeoutMs) resolves { outcome, error? } or, when
 * the child died or did not answer in time, { crash: signal/exit code } / { hang: true }; the
 * worker is restarted after either.
 */
class Worker {
  constructor(env = {}) {
    this.env = env;
    this.child = undefined;
    this.next = 0;
    this.stderr = '';
  }

  async start() {
    this.stderr = '';
    this.child = fork(path.join(__dirname, 'worker.js'), [], {
      env: { ...process.env, ...this.env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-8192); });
    await new Promise((resolve, reject) => {
      this.child.once('message', (m) => (m && m.ready ? resolve() : reject(new Error('worker did not start'))));
      this.child.once('exit', (code, signal) => reject(new Error(`worker exited (${signal || code}) at start: ${this.stderr}`)));
    });
  }

  async run(target, file, timeoutMs) {
    if (!this.child) await this.start();
    const child = this.child;
    const id = this.next++;
    return new Promise((resolve) => {
      const done = (result) => {
        clearTimeout(timer);
        child.removeListener('message', onMessage);
        child.removeListener('exit', onExit);
        resolve(result);
      };
      const onMessage = (m) => { if (m.id === id) done({ outcome: m.outcome, error: m.error }); };
      const onExit = (code, signal) => {
        this.child = undefined;
        done({ crash: signal || `exit ${code}`, stderr: this.stderr });
      };
      const timer = setTimeout(() => {
        child.removeListener('exit', onExit);
        child.kill('SIGKILL');
        this.child = undefined;
        done({ hang: true, stderr: this.stderr });
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, target, file });
    });
  }

  stop() {
    if (this.child) this.child.kill('SIGKILL');
    this.child = undefined;
  }
}

/** The environment that loads the AddressSanitizer build (scripts/build-asan.sh). */
function asanEnv() {
  const { execFileSync } = require('node:child_process');
  const addon = path.join(ROOT, 'build', 'asan', 'tree', 'build', 'Release', 'node_libbpf.node');
  if (!fs.existsSync(addon)) throw new Error('no ASAN build: run `npm run build:asan` first');
  const lib = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  return {
    LD_PRELOAD: lib, NODE_LIBBPF_ADDON: addon,
    // node is not instrumented: no leak report at exit, no abort on its own allocator quirks
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:handle_segv=1:allocator_may_return_null=1',
  };
}

module.exports = { ROOT, CORPUS, CRASHES, loadTargets, seeds, mutate, rng, sha, sectionRange, elfSection, Worker, asanEnv };
