import { type Any, bareTypeUrl, invalidArgument } from "@berth/api";
import { linuxRunc } from "@berth/api/proto";

const runcOptionsType = "containerd.linux.runc.RuncOptions";
const createOptionsType = "containerd.linux.runc.CreateOptions";

const given = (any: Any | undefined): any is Any => any !== undefined && any.typeUrl !== "" && any.value.length > 0;

function decode<T>(any: Any, typeUrl: string, field: string, type: { decode(bytes: Uint8Array): T }): T {
  if (bareTypeUrl(any.typeUrl) !== typeUrl) throw invalidArgument(`${field}: invalid runtime options format: ${JSON.stringify(any.typeUrl)} is not ${typeUrl}`);
  try {
    return type.decode(any.value);
  } catch (error) {
    throw invalidArgument(`${field}: not a ${typeUrl}: ${(error as Error).message}`);
  }
}

/** The container's runtime options (`containerd.linux.runc.RuncOptions`); defaults when it has none. */
export function runcOptionsOf(any: Any | undefined): linuxRunc.RuncOptions {
  return given(any) ? decode(any, runcOptionsType, "runtime options", linuxRunc.RuncOptions) : linuxRunc.RuncOptions.create();
}

/** The task's options (`containerd.linux.runc.CreateOptions`), which the shim gets with Create. */
export function createOptionsOf(any: Any | undefined): linuxRunc.CreateOptions | undefined {
  return given(any) ? decode(any, createOptionsType, "task options", linuxRunc.CreateOptions) : undefined;
}
