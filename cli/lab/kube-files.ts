// The API server's credentials, made once per lab: a static admin token, the service-account
// signing key pair, and the kubeconfig kubectl and every lab component use. The serving cert is
// the API server's own self-signed one (written to kube/certs at its first start); the
// kubeconfig trusts exactly that file.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KubeFiles {
  dir: string;
  tokens: string;
  saKey: string;
  saPub: string;
  certDir: string;
  /** The API server's serving cert chain, trusted by the kubeconfig. */
  servingCert: string;
  kubeconfig: string;
}

export function kubeFiles(dir: string): KubeFiles {
  return {
    dir,
    tokens: join(dir, 'tokens.csv'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    certDir: join(dir, 'certs'),
    servingCert: join(dir, 'certs', 'apiserver.crt'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}

/** Writes the token file and key pair unless they exist (a restarted lab keeps its identity). */
export function ensureCredentials(files: KubeFiles, token: string): void {
  mkdirSync(files.certDir, { recursive: true, mode: 0o700 });
  if (!existsSync(files.saKey) || !existsSync(files.saPub)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(files.saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    writeFileSync(files.saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  writeFileSync(files.tokens, `${token},admin,admin,system:masters\n`, { mode: 0o600 });
}

export function kubeconfigYaml(opts: {
  cluster: string;
  server: string;
  token: string;
  caFile?: string;
}): string {
  const trust = opts.caFile ? `certificate-authority: ${opts.caFile}` : 'insecure-skip-tls-verify: true';
  return `apiVersion: v1
kind: Config
clusters:
- name: ${opts.cluster}
  cluster:
    server: ${opts.server}
    ${trust}
users:
- name: admin
  user:
    token: ${opts.token}
contexts:
- name: ${opts.cluster}
  context:
    cluster: ${opts.cluster}
    user: admin
current-context: ${opts.cluster}
`;
}

export function writeKubeconfig(
  files: KubeFiles,
  opts: { cluster: string; server: string; token: string; verify: boolean },
): void {
  writeFileSync(
    files.kubeconfig,
    kubeconfigYaml({
      cluster: opts.cluster,
      server: opts.server,
      token: opts.token,
      ...(opts.verify ? { caFile: files.servingCert } : {}),
    }),
    { mode: 0o600 },
  );
}
