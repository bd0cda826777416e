// Control files for operating qmta (qmail had multilog beside it): log rotation and the
// metrics listener. See key.ts for the KeySpec contract.

import { intKey, listKey } from '../key.js';
import { listenAddress } from '../values.js';

export const opsKeys = {
  logmaxbytes: intKey('log/qmta.log is rotated when it passes this size, checked each second (0: only on SIGUSR1)', 104857600),
  logkeep: intKey('rotated log files kept by size rotation, oldest removed first (0: keep all)', 10),
  metricslisten: listKey('Prometheus /metrics and the status page /, HOST:PORT per line (none: off)', 'none', () => [], listenAddress),
};
