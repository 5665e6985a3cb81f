// A real Prometheus (Debian's package, installed by scripts/setup.sh) on 127.0.0.1, scraping
// the targets a test gives it every second, and its HTTP query API. stop() kills it and
// removes its directory, whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** One series of an instant query's result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A scrape job: its name, the target (host:port) and the path scraped. */
export interface ScrapeJob {
  name: string;
  target: string;
  metricsPath: string;
}

export interface PrometheusServer {
  url: string;
  /** Asks until `expr` returns series that satisfy `done` (every 500 ms, `tries` times); returns the last answer. */
  query(expr: string, done: (r: PromSample[]) => boolean, tries?: number): Promise<PromSample[]>;
  /** Its stderr, last 4000 characters (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Label value -> sample value, for one label of a result. */
export const values = (r: PromSample[], label: string): Record<string, number> =>
  Object.fromEntries(r.map((s) => [s.metric[label], Number(s.value[1])]));

/** Starts Prometheus scraping `jobs` every second; resolves once every target is up (or throws saying why not). */
export async function startPrometheus(jobs: ScrapeJob[]): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nlb-prometheus-'));
  const config = jobs.map((j) => `  - job_name: ${j.name}\n    metrics_path: ${j.metricsPath}\n    static_configs:\n      - targets: ['${j.target}']\n`).join('');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n${config}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.on('error', (e) => (stderr += `\nspawn prometheus: ${e.message} (scripts/setup.sh installs Debian's prometheus package)`));

  const query = async (expr: string, done: (r: PromSample[]) => boolean, tries = 120): Promise<PromSample[]> => {
    let last: PromSample[] = [];
    for (let i = 0; i < tries; i++) {
      const body = (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`).then((r) => r.json()).catch(() => undefined)) as { status?: string; data: { result: unknown } } | undefined;
      if (body?.status === 'success') {
        last = body.data.result as PromSample[];
        if (done(last)) return last;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return last;
  };
  const stop = async (): Promise<void> => {
    // Only a started process that has not exited yet will emit 'exit'.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const up = (r: PromSample[]): number => r.filter((s) => s.value[1] === '1').length;
  const ready = child.pid === undefined ? [] : await query('up', (r) => up(r) === jobs.length);
  if (up(ready) !== jobs.length) {
    await stop();
    throw new Error(`Prometheus did not scrape every target: ${JSON.stringify(ready)}\n${stderr}`);
  }
  return { url, query, log: () => stderr, stop };
}
