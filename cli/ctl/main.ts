// `netloom ctl <command>`: the operator's read-only view of netloom (netloomctl). Commands are
// loaded lazily, like netloom's own.
type Main = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { about: string; load: () => Promise<{ main: Main }> }> = {
  explain: {
    about: 'may a connection go (--from ns/pod|ip --to ns/pod|ip --port N [--protocol TCP]), and why',
    load: () => import('./explain.ts'),
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.about}`);
    process.stderr.write(
      `usage: netloom ctl <command> [--etcd-endpoints URL] [--cluster NAME] …\n\ncommands:\n${lines.join('\n')}\n`,
    );
    return name === undefined || name === 'help' ? 0 : 2;
  }
  return (await command.load()).main(rest);
}
