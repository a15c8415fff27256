/**
 * ctr's global options, given before the command as in `ctr -a /run/x.sock -n foo namespaces ls`.
 * oclif only parses flags after the command, so these are taken off the front of argv and passed
 * on through the environment variables ctr itself falls back to.
 */
const globalOptions: Readonly<Record<string, { env: string; takesValue: boolean }>> = {
  "--address": { env: "CONTAINERD_ADDRESS", takesValue: true },
  "-a": { env: "CONTAINERD_ADDRESS", takesValue: true },
  "--namespace": { env: "CONTAINERD_NAMESPACE", takesValue: true },
  "-n": { env: "CONTAINERD_NAMESPACE", takesValue: true },
  "--timeout": { env: "BERTH_CTR_TIMEOUT", takesValue: true },
  "--connect-timeout": { env: "BERTH_CTR_CONNECT_TIMEOUT", takesValue: true },
  "--debug": { env: "BERTH_CTR_DEBUG", takesValue: false },
};

export function hoistGlobalOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  let index = 0;
  while (index < argv.length) {
    const argument = argv[index]!;
    const [name, inlineValue] = argument.includes("=")
      ? [argument.slice(0, argument.indexOf("=")), argument.slice(argument.indexOf("=") + 1)]
      : [argument, undefined];
    const option = globalOptions[name];
    if (option === undefined) break;
    if (!option.takesValue) {
      env[option.env] = "true";
      index += 1;
    } else if (inlineValue !== undefined) {
      env[option.env] = inlineValue;
      index += 1;
    } else {
      const value = argv[index + 1];
      if (value === undefined) break;
      env[option.env] = value;
      index += 2;
    }
  }
  return argv.slice(index);
}
