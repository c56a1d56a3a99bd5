// Entry of the CNI plugin executable (bundled by scripts/build-cni.ts).
import { main } from './main.ts';

main().catch((err: unknown) => {
  process.stdout.write(
    JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: `netloom CNI shim failed: ${String(err)}` }) + '\n',
  );
  process.exit(1);
});
