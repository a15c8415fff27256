import { parseArgs } from "node:util";
import { type Config, defaultConfig, loadConfig, renderConfig } from "./config.js";
import { Daemon } from "./daemon.js";
import { createLogger } from "./log.js";
import { builtinPlugins } from "./plugins/builtins.js";
import { berthRevision, berthVersion } from "./version.js";

const usage = `berthd — containerd's job, in TypeScript

USAGE
  berthd [flags]                 run the daemon
  berthd config default          print the complete default configuration
  berthd publish --topic <topic> --namespace <ns>
                                 publish the event (a protobuf Any) read from stdin,
                                 as the runtime v1 shim does through containerd publish

FLAGS
  -c, --config <path>      config file (default: /etc/berth/config.toml)
      --root <dir>         persistent state (default: /var/lib/berth)
      --state <dir>        runtime state (default: /run/berth)
  -a, --address <path>     gRPC socket (default: /run/berth/berthd.sock)
  -l, --log-level <level>  trace, debug, info, warn, error, fatal or panic
  -v, --version            print the version
  -h, --help               this text
`;

function fail(message: string): never {
  process.stderr.write(`berthd: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        root: { type: "string" },
        state: { type: "string" },
        address: { type: "string", short: "a" },
        "log-level": { type: "string", short: "l" },
        version: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return void process.stdout.write(usage);
  if (values.version) return void process.stdout.write(`berthd ${berthVersion} ${berthRevision}\n`);

  const config: Config = await loadConfig(values.config ?? "/etc/berth/config.toml").catch((error: Error) => fail(error.message));
  if (values.root !== undefined) config.root = values.root;
  if (values.state !== undefined) config.state = values.state;
  if (values.address !== undefined) config.grpc.address = values.address;
  if (values["log-level"] !== undefined) config.debug.level = values["log-level"];

  if (positionals[0] === "config") {
    if (positionals[1] !== "default") fail(`unknown command "config ${positionals[1] ?? ""}"; try "berthd config default"`);
    const complete = defaultConfig();
    for (const plugin of builtinPlugins()) if (plugin.config) complete.plugins[`${plugin.type}.${plugin.id}`] = { ...plugin.config };
    return void process.stdout.write(renderConfig(complete));
  }
  if (positionals.length > 0) fail(`unknown command "${positionals.join(" ")}"\n\n${usage}`);

  let logger;
  try {
    logger = createLogger(config.debug.level);
  } catch (error) {
    fail((error as Error).message);
  }
  logger.info({ version: berthVersion, revision: berthRevision, pid: process.pid }, "starting berthd");
  let plugins;
  try {
    plugins = builtinPlugins(config);
  } catch (error) {
    fail((error as Error).message);
  }
  const daemon = await Daemon.start(config, plugins, logger).catch((error: Error) => {
    logger.fatal({ err: error }, "failed to start");
    process.exit(1);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "received signal");
    daemon.stop().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error({ err: error }, "unclean shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

await main();
