// The `netloom` executable the npm scripts run (`npm start` = `netloom lab up`,
// `npm run netloom -- <command>`): the same dispatcher as cli/netloom.ts.
import { run } from '../cli/netloom.ts';

process.exitCode = await run(process.argv.slice(2));
