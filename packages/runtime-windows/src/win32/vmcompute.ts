import { basename, dirname } from "node:path";
import { checkHresult, koffi, library } from "./koffi.js";

/**
 * vmcompute.dll's layer API (what hcsshim's wclayer calls): a layer is named by its home directory
 * (DriverInfo) and id (the directory's name); parents travel as WC_LAYER_DESCRIPTORs (GUID from NameToGuid).
 */
let bound: ReturnType<typeof bind> | undefined;

function bind() {
  const dll = library("vmcompute.dll");
  const DriverInfo = koffi.struct("berth_DriverInfo", { Flavour: "int64", HomeDir: "str16" });
  const Guid = koffi.struct("berth_GUID", { data: koffi.array("uint8", 16) });
  const LayerDescriptor = koffi.struct("berth_WC_LAYER_DESCRIPTOR", { LayerId: Guid, Flags: "uint32", Path: "str16" });
  return {
    LayerDescriptor,
    ActivateLayer: dll.func("int32 __stdcall ActivateLayer(berth_DriverInfo *info, str16 id)"),
    DeactivateLayer: dll.func("int32 __stdcall DeactivateLayer(berth_DriverInfo *info, str16 id)"),
    PrepareLayer: dll.func("int32 __stdcall PrepareLayer(berth_DriverInfo *info, str16 id, berth_WC_LAYER_DESCRIPTOR *layers, int32 count)"),
    UnprepareLayer: dll.func("int32 __stdcall UnprepareLayer(berth_DriverInfo *info, str16 id)"),
    DestroyLayer: dll.func("int32 __stdcall DestroyLayer(berth_DriverInfo *info, str16 id)"),
    GetLayerMountPath: dll.func("int32 __stdcall GetLayerMountPath(berth_DriverInfo *info, str16 id, _Inout_ uint64 *length, _Out_ uint16 *buffer)"),
    ExpandSandboxSize: dll.func("int32 __stdcall ExpandSandboxSize(berth_DriverInfo *info, str16 id, uint64 size)"),
    ProcessBaseImage: dll.func("int32 __stdcall ProcessBaseImage(str16 path)"),
    ImportLayer: dll.func("int32 __stdcall ImportLayer(berth_DriverInfo *info, str16 id, str16 path, berth_WC_LAYER_DESCRIPTOR *layers, int32 count)"),
    ExportLayer: dll.func("int32 __stdcall ExportLayer(berth_DriverInfo *info, str16 id, str16 path, berth_WC_LAYER_DESCRIPTOR *layers, int32 count)"),
    NameToGuid: dll.func("int32 __stdcall NameToGuid(str16 name, _Out_ berth_GUID *guid)"),
  };
}

const api = () => (bound ??= bind());
const info = (layer: string) => ({ Flavour: 1, HomeDir: dirname(layer) });

function descriptors(parents: readonly string[]) {
  return parents.map((path) => {
    const guid = { data: new Array(16).fill(0) };
    checkHresult("NameToGuid", api().NameToGuid(basename(path), guid));
    return { LayerId: guid, Flags: 0, Path: path };
  });
}

export const activateLayer = (layer: string): void => checkHresult("ActivateLayer", api().ActivateLayer(info(layer), basename(layer)));
export const deactivateLayer = (layer: string): void => checkHresult("DeactivateLayer", api().DeactivateLayer(info(layer), basename(layer)));
export const unprepareLayer = (layer: string): void => checkHresult("UnprepareLayer", api().UnprepareLayer(info(layer), basename(layer)));
export const destroyLayer = (layer: string): void => checkHresult("DestroyLayer", api().DestroyLayer(info(layer), basename(layer)));
export const expandSandboxSize = (layer: string, bytes: number): void =>
  checkHresult("ExpandSandboxSize", api().ExpandSandboxSize(info(layer), basename(layer), BigInt(bytes)));
export const processBaseImage = (layer: string): void => checkHresult("ProcessBaseImage", api().ProcessBaseImage(layer));

export function prepareLayer(layer: string, parents: readonly string[]): void {
  const list = descriptors(parents);
  checkHresult("PrepareLayer", api().PrepareLayer(info(layer), basename(layer), list, list.length));
}

export function importLayer(layer: string, from: string, parents: readonly string[]): void {
  const list = descriptors(parents);
  checkHresult("ImportLayer", api().ImportLayer(info(layer), basename(layer), from, list, list.length));
}

export function exportLayer(layer: string, to: string, parents: readonly string[]): void {
  const list = descriptors(parents);
  checkHresult("ExportLayer", api().ExportLayer(info(layer), basename(layer), to, list, list.length));
}

/** The volume path an activated, prepared layer is reachable at (two calls: length, then the text). */
export function getLayerMountPath(layer: string): string {
  const length = [0n];
  checkHresult("GetLayerMountPath", api().GetLayerMountPath(info(layer), basename(layer), length, null));
  const buffer = new Uint16Array(Number(length[0]));
  checkHresult("GetLayerMountPath", api().GetLayerMountPath(info(layer), basename(layer), length, buffer));
  return String.fromCharCode(...buffer).replace(/\0.*$/, "");
}
