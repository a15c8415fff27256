// Kubernetes' CRI (runtime.v1), apart from the containerd types: only the CRI plugin and its clients load it.
export * as criV1 from "./gen/runtime/v1/api.js";
