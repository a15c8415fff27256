import { logInfo } from "@berth/cli-kit";
import { ContentFetchObject } from "@berth/cli-kit/commands";

/** ctr's `content fetch-object`, saying what it does on stderr. */
export class FetchObject extends ContentFetchObject {
  static override args = ContentFetchObject.args;
  static override usage = "fetch-object [flags] <ref>";
  protected override announce(message: string): void {
    logInfo(message);
  }
}
