// Parses Prometheus's text format with a real, independent parser: Python's
// prometheus_client (Debian's python3-prometheus-client, installed when missing).

import { spawnSync } from 'node:child_process';
import { needPythonModule } from './debian.js';

export type Sample = [name: string, labels: Record<string, string>, value: number];

const PARSE = `import sys, json
from prometheus_client.parser import text_string_to_metric_families
print(json.dumps([[s.name, s.labels, s.value] for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]))`;

/** Every sample of the exposition text. */
export function parsePrometheus(text: string): Sample[] {
  const py = needPythonModule('prometheus_client', 'python3-prometheus-client');
  const r = spawnSync(py, ['-c', PARSE], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prometheus_client refused the text: ${r.stderr}`);
  return JSON.parse(r.stdout) as Sample[];
}
