// The OCI runtime spec as containerd writes it for Windows (runtime-spec's specs-go): only what
// Berth sets or carries through; anything else a caller adds passes through after the known fields.

export interface WindowsUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface WindowsProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: WindowsUser;
  args?: string[];
  commandLine?: string;
  env?: string[];
  cwd: string;
  [field: string]: unknown;
}

export interface WindowsDevice {
  id: string;
  idType: string;
}

export interface WindowsResources {
  memory?: { limit?: number };
  cpu?: { count?: number; shares?: number; maximum?: number };
  storage?: { iops?: number; bps?: number; sandboxSize?: number };
}

export interface WindowsNetwork {
  endpointList?: string[];
  allowUnqualifiedDNSQuery?: boolean;
  DNSSearchList?: string[];
  networkSharedContainerName?: string;
  networkNamespace?: string;
}

export interface WindowsSection {
  /** Always written, as `null` when there are none (Go: no omitempty). */
  layerFolders: string[] | null;
  devices?: WindowsDevice[];
  resources?: WindowsResources;
  credentialSpec?: unknown;
  servicing?: boolean;
  ignoreFlushesDuringBoot?: boolean;
  hyperv?: { utilityVMPath?: string };
  network?: WindowsNetwork;
}

export interface WindowsSpec {
  ociVersion: string;
  process?: WindowsProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: { destination: string; type?: string; source?: string; options?: string[] }[];
  annotations?: Record<string, string>;
  windows: WindowsSection;
  [field: string]: unknown;
}
