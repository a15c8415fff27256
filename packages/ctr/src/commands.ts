import { Events } from "./commands/events.js";
import { NamespacesCreate } from "./commands/namespaces/create.js";
import { NamespacesLabel } from "./commands/namespaces/label.js";
import { NamespacesList } from "./commands/namespaces/list.js";
import { NamespacesRemove } from "./commands/namespaces/remove.js";
import { PluginsList } from "./commands/plugins/list.js";
import { Version } from "./commands/version.js";

/** Every ctr command by id; oclif's explicit command strategy reads this object. */
export const commands = {
  events: Events,
  "namespaces:create": NamespacesCreate,
  "namespaces:label": NamespacesLabel,
  "namespaces:list": NamespacesList,
  "namespaces:remove": NamespacesRemove,
  "plugins:list": PluginsList,
  version: Version,
};
