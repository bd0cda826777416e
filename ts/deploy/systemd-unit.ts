// The systemd unit `qmta systemd-unit` prints (README "Running under systemd").
//
// Interface: systemdUnit({ node, main, home, root }) -> the unit file's text.
// Two forms:
//   default: User=qmta from the start, AmbientCapabilities=CAP_NET_BIND_SERVICE for ports
//     below 1024 (also when SIGHUP adds one), no other capability: virtual users only.
//   root: started as root with a bounding set of exactly what trust partitioning needs
//     (bind, chown for the migration, setuid/setgid for the drop and the delivery helper,
//     DAC read-search so the helper can check system accounts' homes); qmta drops itself
//     (ts/daemon/partition.ts). Needed when users/assign names system accounts.
// Hardening is what Node tolerates: no MemoryDenyWriteExecute (V8's JIT writes code),
// no ProcSubset=pid (libuv reads /proc/stat and /proc/cpuinfo); AF_NETLINK stays for
// os.networkInterfaces(); @resources stays in the filter (the queue's SCHED_BATCH).

export interface UnitOptions {
  readonly node: string;
  readonly main: string;
  readonly home: string;
  readonly root: boolean;
  readonly account: string;
}

/** The unit file text. */
export function systemdUnit(o: UnitOptions): string {
  const who = o.root
    ? ['# Started as root: qmta drops to the qmta account itself and runs the delivery helper.',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_CHOWN CAP_SETUID CAP_SETGID CAP_DAC_READ_SEARCH CAP_FOWNER',
      'ReadWritePaths=/home /var/mail']
    : [`User=${o.account}`, `Group=${o.account}`, 'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'ProtectHome=yes'];
  return `${[
    '[Unit]',
    'Description=qmta mail transfer agent',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${o.node} ${o.main} --home ${o.home} start`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'TimeoutStopSec=35',
    'Restart=on-failure',
    ...who,
    `ReadWritePaths=${o.home}`,
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'PrivateTmp=yes',
    'PrivateDevices=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    `SystemCallFilter=~@mount @swap @reboot @raw-io @module @obsolete @debug @cpu-emulation${o.root ? '' : ' @privileged'}`,
    'SystemCallErrorNumber=EPERM',
    'UMask=0027',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n')}\n`;
}
