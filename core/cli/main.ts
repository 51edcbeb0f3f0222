/**
 * `swarm`: the command line (commander 14). Run as `node --import tsx core/cli/main.ts …`,
 * or through `core/cli/bin.js` (the package's `bin`), which registers tsx first.
 *
 * Every command: parse flags → load the config file (`--config` or searched) → validate
 * (config/flags.ts, the original's messages) → run. A failure is one line on stderr and exit
 * code 1, never a stack trace.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Help } from 'commander';
import { destination, pino, type Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../../config/index.ts';
import { globalSettings, joinSettings, listSettings, manageSettings, type GlobalFlags, type GlobalSettings, type JoinFlags, type ListFlags, type ManageFlags } from '../../config/flags.ts';
import { GIT_COMMIT, SWARM_VERSION } from '../../config/version.ts';
import { addFlags, goFlagForms, CREATE_FLAGS, flagValues, GLOBAL_FLAGS, JOIN_FLAGS, LIST_FLAGS, MANAGE_FLAGS, parseBool } from './options.ts';

export const PROGRAM = 'swarm';
export const USAGE = 'A Docker-native clustering system';

/** What every command gets once the global flags and the config file are read. */
export interface CommandContext {
  loaded: LoadedConfig;
  global: GlobalSettings;
  logger: Logger;
}

/** A failure worth one line on stderr and exit code 1. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

function fatal(err: unknown): never {
  process.stderr.write(`${errorLine(err)}\n`);
  process.exit(1);
}

/** Logs go to stdout, as the original's did. Synchronous, so nothing is lost on exit. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } }, destination({ dest: 1, sync: true }));
}

async function context(program: Command): Promise<CommandContext> {
  const flags = flagValues<GlobalFlags>(program, GLOBAL_FLAGS, {});
  // urfave/cli parsed $DEBUG with strconv.ParseBool; commander would take any value as true.
  if (flags.debug === undefined) {
    const fromEnv = parseBool(process.env.DEBUG);
    if (fromEnv !== undefined) flags.debug = fromEnv;
  }
  const loaded = await loadConfig(flags.config ? { configPath: flags.config } : {});
  const global = globalSettings(flags, loaded.config);
  return { loaded, global, logger: createLogger(global.level) };
}

/** The `name, alias` listing of the original's help template. */
class SwarmHelp extends Help {
  override subcommandTerm(cmd: Command): string {
    const alias = cmd.aliases()[0];
    return alias ? `${cmd.name()}, ${alias}` : cmd.name();
  }
}

export function buildProgram(): Command {
  const program = new Command(PROGRAM);
  program
    .description(USAGE)
    .version(`${SWARM_VERSION} (${GIT_COMMIT})`, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    .configureHelp({ sortSubcommands: false })
    .showSuggestionAfterError(false);
  program.createHelp = () => Object.assign(new SwarmHelp(), program.configureHelp());
  addFlags(program, GLOBAL_FLAGS);

  const sub = (name: string, alias: string, description: string) => {
    const cmd = program.command(name).alias(alias).description(description);
    cmd.createHelp = () => Object.assign(new SwarmHelp(), cmd.configureHelp());
    return cmd;
  };

  const create = sub('create', 'c', 'Create a cluster').allowExcessArguments(true);
  addFlags(create, CREATE_FLAGS);
  create.action(async (_opts: unknown, cmd: Command) => {
    if (cmd.args.length > 0) throw new Error(`the \`create\` command takes no arguments. See '${PROGRAM} create --help'.`);
    const ctx = await context(program);
    const { runCreate } = await import('./create.ts');
    await runCreate(flagValues<{ discoveryUrl?: string }>(cmd, CREATE_FLAGS), ctx);
  });

  const list = sub('list', 'l', 'List nodes in a cluster').argument('[discovery]', 'discovery service URL (env: SWARM_DISCOVERY)');
  addFlags(list, LIST_FLAGS);
  list.action(async (discovery: string | undefined, _opts: unknown, cmd: Command) => {
    const ctx = await context(program);
    const settings = listSettings(flagValues<ListFlags>(cmd, LIST_FLAGS), discovery, ctx.loaded, PROGRAM);
    const { runList } = await import('./list.ts');
    await runList(settings, ctx);
  });

  const manage = sub('manage', 'm', 'Manage a docker cluster').argument('[discovery]', 'discovery service URL (env: SWARM_DISCOVERY)');
  addFlags(manage, MANAGE_FLAGS);
  manage.action(async (discovery: string | undefined, _opts: unknown, cmd: Command) => {
    const ctx = await context(program);
    const settings = manageSettings(flagValues<ManageFlags>(cmd, MANAGE_FLAGS), discovery, ctx.loaded, PROGRAM);
    const { runManage } = await import('./manage.ts');
    await runManage(settings, ctx);
  });

  const join = sub('join', 'j', 'Join a docker cluster').argument('[discovery]', 'discovery service URL (env: SWARM_DISCOVERY)');
  addFlags(join, JOIN_FLAGS);
  join.action(async (discovery: string | undefined, _opts: unknown, cmd: Command) => {
    const ctx = await context(program);
    const settings = joinSettings(flagValues<JoinFlags>(cmd, JOIN_FLAGS), discovery, ctx.loaded, PROGRAM);
    const { runJoin } = await import('./join.ts');
    await runJoin(settings, ctx);
  });

  sub('help', 'h', 'Shows a list of commands or help for one command')
    .argument('[command]', 'command to show the help of')
    .action((name: string | undefined) => {
      const target = name ? program.commands.find((c) => c.name() === name || c.aliases().includes(name)) : undefined;
      if (name && !target) throw new Error(`No help topic for '${name}'`);
      (target ?? program).outputHelp();
    });

  // Commander's own errors (unknown option, missing value) are already one line; keep exit code 1.
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  process.on('unhandledRejection', (err) => fatal(err));
  process.on('uncaughtException', (err) => fatal(err));
  const program = buildProgram();
  if (argv.length <= 2) {
    // No command: the help on stdout and success, as the original (urfave/cli) did.
    program.outputHelp();
    return;
  }
  try {
    const { args, falses } = goFlagForms(program, argv.slice(2));
    if (falses.length > 0) {
      program.hook('preAction', () => {
        for (const f of falses) f.cmd.setOptionValueWithSource(f.key, f.value, 'cli');
      });
    }
    await program.parseAsync([...argv.slice(0, 2), ...args]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" that exit 0; the message was already written.
      process.exit(err.exitCode === 0 ? 0 : 1);
    }
    fatal(err);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
