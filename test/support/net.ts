// Network fixtures for the network attach tests: veth pairs into network namespaces made
// with iproute2, cgroup v2 subtrees, UDP traffic from Node (in this process or, through
// `ip netns exec`, from inside a namespace), and children moved into a cgroup.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';

let counter = 0;
const unique = (): string => `${process.pid % 100000}${String.fromCharCode(97 + (counter++ % 26))}`;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Veth {
  /** The namespace holding the peer. */
  ns: string;
  /** The host side (in this process's namespace) and its address. */
  host: string;
  hostIp: string;
  /** The peer side (in `ns`) and its address. */
  peer: string;
  peerIp: string;
  remove(): void;
}

/** A veth pair: `host` here, `peer` in a new network namespace, both up with a /24 each side. */
export function makeVeth(): Veth {
  const id = unique();
  const ns = `nlbns${id}`;
  const host = `nlbh${id}`;
  const peer = `nlbp${id}`;
  const subnet = `10.${200 + (process.pid % 50)}.${counter % 250}`;
  const veth: Veth = {
    ns,
    host,
    peer,
    hostIp: `${subnet}.1`,
    peerIp: `${subnet}.2`,
    remove: () => {
      for (const args of [['link', 'del', host], ['netns', 'del', ns]]) {
        try {
          ip(...args);
        } catch {
          // already gone
        }
      }
    },
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'netns', ns);
    ip('addr', 'add', `${veth.hostIp}/24`, 'dev', host);
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'addr', 'add', `${veth.peerIp}/24`, 'dev', peer);
    ip('-n', ns, 'link', 'set', peer, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (e) {
    veth.remove();
    throw e;
  }
  return veth;
}

/** The XDP mode iproute2 reports for an interface: 1 driver, 2 generic (skb), 3 hw, undefined: none. */
export function xdpMode(ifname: string): number | undefined {
  const [info] = JSON.parse(ip('-j', '-d', 'link', 'show', 'dev', ifname)) as { xdp?: { mode?: number } }[];
  return info.xdp?.mode;
}

/** Runs `node -e script` inside a network namespace; resolves with its stdout. */
export function nodeInNetns(ns: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`node in ${ns} exited with ${code}: ${err}`))));
  });
}

/** A script sending each payload as one UDP datagram to host:port, in order. */
export function udpSendScript(host: string, port: number, payloads: string[]): string {
  return `const s = require('dgram').createSocket('udp4'); const p = ${JSON.stringify(payloads)};
let i = 0; const next = () => { if (i === p.length) return s.close(); s.send(p[i++], ${port}, ${JSON.stringify(host)}, next); }; next();`;
}

/** Sends each payload as one UDP datagram from this process, in order. */
export function udpSend(host: string, port: number, payloads: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    let i = 0;
    const next = (err?: Error | null): void => {
      if (err || i === payloads.length) {
        s.close();
        if (err) reject(err);
        else resolve();
        return;
      }
      s.send(payloads[i++], port, host, next);
    };
    next();
  });
}

/** A bound UDP socket collecting what arrives; `until(pred)` waits for the collection to satisfy pred. */
export interface UdpReceiver {
  socket: dgram.Socket;
  port: number;
  received: string[];
  until(pred: (received: string[]) => boolean): Promise<string[]>;
  close(): void;
}

export function udpReceiver(address: string, port = 0): Promise<UdpReceiver> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const received: string[] = [];
    const waiters: (() => void)[] = [];
    socket.on('message', (msg) => {
      received.push(msg.toString());
      for (const w of waiters.splice(0)) w();
    });
    socket.once('error', reject);
    socket.bind(port, address, () => {
      resolve({
        socket,
        port: socket.address().port,
        received,
        until: (pred) =>
          new Promise((res) => {
            const check = (): void => {
              if (pred(received)) res(received);
              else waiters.push(check);
            };
            check();
          }),
        close: () => socket.close(),
      });
    });
  });
}

/** Where cgroup v2 is mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified on hybrid hosts). */
export function cgroup2Root(): string {
  for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2') return mountPoint;
  }
  throw new Error('no cgroup2 mount in /proc/mounts');
}

/**
 * Removes the cgroup `dir` and every cgroup below it, deepest first, after moving what is
 * still in them (a child killed by a failing test may not have exited yet) to `root`, the
 * cgroup2 mount; retries briefly while the kernel finishes the exits. Gone already: nothing.
 */
export function removeCgroup(dir: string, root = cgroup2Root()): void {
  if (!fs.existsSync(dir)) return;
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) removeCgroup(path.join(dir, d.name), root);
  for (let attempt = 0; ; attempt++) {
    for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        fs.writeFileSync(path.join(root, 'cgroup.procs'), pid);
      } catch {
        // exiting
      }
    }
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || attempt === 50) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/** A new cgroup v2 directory; remove() is removeCgroup() of it. */
export function makeCgroup(): { path: string; remove(): void } {
  const root = cgroup2Root();
  const dir = path.join(root, `nlb_test_${unique()}`);
  fs.mkdirSync(dir);
  return { path: dir, remove: () => removeCgroup(dir, root) };
}

/**
 * A node child that waits for a line on stdin, then runs `script` (which prints its result
 * and exits): its pid is known first, so the test moves it into a cgroup before it acts.
 */
export interface GatedNode {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  /** Lets the child run; resolves with its stdout once it exited. */
  go(): Promise<string>;
  kill(): void;
}

export function gatedNode(script: string): Promise<GatedNode> {
  const wrapper = `process.stdout.write('ready\\n'); process.stdin.once('data', () => { process.stdin.pause(); ${script} });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', wrapper]);
    let out = '';
    let err = '';
    const exited = new Promise<string>((res, rej) => {
      child.on('close', (code) => (code === 0 ? res(out.replace(/^ready\n/, '')) : rej(new Error(`child exited with ${code}: ${err}`))));
    });
    exited.catch(() => undefined); // observed through go()
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      const first = out === '';
      out += d;
      if (first) {
        resolve({
          child,
          pid: child.pid!,
          go: () => {
            child.stdin.end('go\n');
            return exited;
          },
          kill: () => {
            if (child.exitCode === null) child.kill('SIGKILL');
          },
        });
      }
    });
  });
}
