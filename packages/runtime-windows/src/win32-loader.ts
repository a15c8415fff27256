import { unavailable } from "@berth/api";
import type { LayerOps } from "./layers/layer-ops.js";
import { windowsSupport } from "./platform.js";

/**
 * The real `LayerOps`, from `src/win32/`: imported only here and only on Windows, so that loading
 * this package elsewhere loads neither koffi nor any DLL. Unavailable on any other platform.
 */
export async function loadWin32LayerOps(): Promise<LayerOps> {
  const support = windowsSupport();
  if (!support.supported) throw unavailable(support.reason ?? "not Windows");
  const { win32LayerOps } = await import("./win32/layer-ops.js");
  return win32LayerOps();
}
