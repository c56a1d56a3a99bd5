// Entry of the CNI plugin executable (bundled by scripts/build-cni.ts).
import { main, printAndExit } from './main.ts';

main().catch((err: unknown) =>
  printAndExit(
    JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: `netloom CNI shim failed: ${String(err)}` }) + '\n',
    1,
  ),
);
