import type { Any } from "@berth/api";
import * as runcV1 from "@berth/api/gen/containerd/runc/v1/options";
import { defaultSnapshotterFor } from "@berth/oci";

/**
 * `[plugins."io.containerd.grpc.v1.cri"]`: containerd 1.6's keys and defaults (snake_case, as in
 * its config.toml). Keys Berth reads are typed; the others are kept so that `config default` and
 * Status(verbose) show containerd's full table.
 */
export interface CriRuntimeConfig {
  runtime_type: string;
  runtime_path: string;
  pod_annotations: string[];
  container_annotations: string[];
  privileged_without_host_devices: boolean;
  base_runtime_spec: string;
  cni_conf_dir: string;
  cni_max_conf_num: number;
  options: Record<string, unknown>;
}

export interface CriConfig {
  sandbox_image: string;
  stream_server_address: string;
  stream_server_port: string;
  stream_idle_timeout: string;
  enable_tls_streaming: boolean;
  enable_selinux: boolean;
  selinux_category_range: number;
  max_container_log_line_size: number;
  max_concurrent_downloads: number;
  stats_collect_period: number;
  disable_tcp_service: boolean;
  disable_cgroup: boolean;
  disable_apparmor: boolean;
  disable_proc_mount: boolean;
  restrict_oom_score_adj: boolean;
  systemd_cgroup: boolean;
  tolerate_missing_hugetlb_controller: boolean;
  disable_hugetlb_controller: boolean;
  ignore_image_defined_volumes: boolean;
  netns_mounts_under_state_dir: boolean;
  enable_unprivileged_ports: boolean;
  enable_unprivileged_icmp: boolean;
  device_ownership_from_security_context: boolean;
  unset_seccomp_profile: string;
  cni: { bin_dir: string; conf_dir: string; max_conf_num: number; conf_template: string; ip_pref: string };
  containerd: {
    snapshotter: string;
    default_runtime_name: string;
    disable_snapshot_annotations: boolean;
    discard_unpacked_layers: boolean;
    no_pivot: boolean;
    ignore_rdt_not_enabled_errors: boolean;
    runtimes: Record<string, CriRuntimeConfig>;
  };
  registry: {
    config_path: string;
    configs: Record<string, { auth?: { username?: string; password?: string; auth?: string; identitytoken?: string } }>;
  };
  image_decryption: { key_model: string };
}

export const defaultCriConfig = (): CriConfig => ({
  sandbox_image: "registry.k8s.io/pause:3.6",
  stream_server_address: "127.0.0.1",
  stream_server_port: "0",
  stream_idle_timeout: "4h0m0s",
  enable_tls_streaming: false,
  enable_selinux: false,
  selinux_category_range: 1024,
  max_container_log_line_size: 16384,
  max_concurrent_downloads: 3,
  stats_collect_period: 10,
  disable_tcp_service: true,
  disable_cgroup: false,
  disable_apparmor: false,
  disable_proc_mount: false,
  restrict_oom_score_adj: false,
  systemd_cgroup: false,
  tolerate_missing_hugetlb_controller: true,
  disable_hugetlb_controller: true,
  ignore_image_defined_volumes: false,
  netns_mounts_under_state_dir: false,
  enable_unprivileged_ports: false,
  enable_unprivileged_icmp: false,
  device_ownership_from_security_context: false,
  unset_seccomp_profile: "",
  cni: { bin_dir: "/opt/cni/bin", conf_dir: "/etc/cni/net.d", max_conf_num: 1, conf_template: "", ip_pref: "" },
  containerd: {
    snapshotter: defaultSnapshotterFor(),
    default_runtime_name: "runc",
    disable_snapshot_annotations: true,
    discard_unpacked_layers: false,
    no_pivot: false,
    ignore_rdt_not_enabled_errors: false,
    runtimes: {
      runc: {
        runtime_type: "io.containerd.runc.v2",
        runtime_path: "",
        pod_annotations: [],
        container_annotations: [],
        privileged_without_host_devices: false,
        base_runtime_spec: "",
        cni_conf_dir: "",
        cni_max_conf_num: 0,
        options: {},
      },
    },
  },
  registry: { config_path: "", configs: {} },
  image_decryption: { key_model: "node" },
});

/**
 * A runtime's `options` table as the container record's runtime options: for runc v1/v2,
 * `containerd.runc.v1.Options` (its TOML keys are the Go field names, e.g. `SystemdCgroup`).
 */
export function runtimeOptions(runtime: CriRuntimeConfig): Any | undefined {
  if (!/^io\.containerd\.runc\.v[12]$/.test(runtime.runtime_type)) return undefined;
  const json = Object.fromEntries(Object.entries(runtime.options ?? {}).map(([key, value]) => [key.charAt(0).toLowerCase() + key.slice(1), value]));
  return { typeUrl: "containerd.runc.v1.Options", value: Buffer.from(runcV1.Options.encode(runcV1.Options.fromJSON(json)).finish()) };
}
