// `netloom stn`: the STN daemon. Runs until SIGTERM/SIGINT; held NICs stay held across a
// restart (the state files let the next start resume or restore them).
import { loadConfig } from '../lib/config.ts';
import { createLogger } from '../lib/logging.ts';
import { createRegistry } from '../lib/metrics.ts';
import { stnConfigSchema } from './config.ts';
import { startStnDaemon } from './daemon.ts';

export async function main(argv: string[]): Promise<number> {
  const { config } = loadConfig(stnConfigSchema, { argv });
  const logger = createLogger('stn', { level: config.logLevel });
  const daemon = await startStnDaemon(config, logger, createRegistry('stn'));
  logger.info(
    {
      socket: config.socket,
      stateDir: config.stateDir,
      netns: config.netns || undefined,
      recovered: daemon.recovered,
    },
    'stn daemon ready',
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info({ signal }, 'stopping (held interfaces stay held)');
  await daemon.close();
  return 0;
}
