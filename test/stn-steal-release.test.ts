// The STN daemon as a real child process (`netloom stn --netns …`) on a veth NIC inside a
// throwaway network namespace: steal then release restores exactly what `ip -json` showed,
// unbinding goes through (fake) sysfs, a failed steal is rolled back, bad requests change nothing.
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { statSync } from 'node:fs';
import { releaseAtShutdown, stealAtStart, StnClient, StnClientError } from '../stn/client.ts';
import { netnsAvailable, skipUnless } from './harness/availability.ts';
import { ip, KERNEL_DRIVER, NIC, PCI, StnLab, type StnDaemonProcess } from './stn-lab.ts';

const skip = skipUnless('STN daemon tests', netnsAvailable());

async function refusal(p: Promise<unknown>): Promise<StnClientError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StnClientError);
  return err as StnClientError;
}

describe.skipIf(skip)('STN daemon: steal and release on a real NIC in a namespace', () => {
  const lab = new StnLab();
  let daemon: StnDaemonProcess;
  let client: StnClient;

  beforeAll(async () => {
    await lab.setup();
    daemon = await lab.daemon('stn').start();
    client = new StnClient({ socket: lab.socket, callTimeoutMs: 30_000 });
  });

  afterEach(async () => {
    // Leave the NIC with the kernel whatever a test did.
    await client.release(NIC).catch(() => undefined);
  });

  afterAll(async () => {
    client?.close();
    await daemon?.proc.stop();
    await lab.cleanup();
  });

  it('steal takes every address and route; release restores exactly what ip -json showed', async () => {
    const before = lab.view();
    expect(before.routes.some((r) => r.includes('"table":"100"'))).toBe(true);
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);

    const t0 = performance.now();
    const config = await client.steal(NIC);
    const stealMs = performance.now() - t0;
    expect(config).toMatchObject({
      name: NIC,
      mtu: 1500,
      mac: before.link.address,
      pciAddress: PCI,
      kernelDriver: KERNEL_DRIVER,
    });
    expect(config.addresses.map((a) => a.address)).toEqual(
      expect.arrayContaining(['10.250.0.2/24', '10.250.1.2/24', 'fd00:250::2/64']),
    );
    expect(config.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ dst: 'default', gateway: '10.250.0.1', table: 254, family: 'inet' }),
        expect.objectContaining({ dst: 'default', gateway: 'fd00:250::1', metric: 50, family: 'inet6' }),
        expect.objectContaining({ dst: 'default', gateway: '10.250.1.1', table: 100, metric: 10 }),
        expect.objectContaining({ dst: '10.9.0.0/16', table: 100, protocol: 'static' }),
        expect.objectContaining({ dst: 'fd00:9::/64', table: 100, family: 'inet6' }),
      ]),
    );

    const stolen = lab.view();
    expect(stolen.addresses).toEqual([]);
    expect(stolen.routes).toEqual([]);
    expect(stolen.link.up).toBe(false);
    expect(lab.stateFile()?.phase).toBe('stolen');
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(false);
    const st = await client.status();
    expect(st.stolen).toEqual([
      expect.objectContaining({ state: 'stolen', config: expect.objectContaining({ name: NIC }) }),
    ]);

    // The data plane may change the link while it holds it: release must put that back too.
    ip(lab.host, 'link', 'set', NIC, 'mtu', '9000', 'address', '02:00:00:00:00:42');

    const t1 = performance.now();
    await client.release(NIC);
    const releaseMs = performance.now() - t1;
    await lab.settled();
    expect(lab.view()).toEqual(before);
    expect(lab.stateFile()).toBeUndefined();
    expect(lab.ping(lab.host, '10.251.0.1')).toBe(true);
    expect(ip(lab.host, 'route', 'get', '10.9.1.1', 'from', '10.250.1.2')).toContain('via 10.250.1.1');
    expect((await client.status()).stolen).toEqual([]);
    console.log(
      `steal ${stealMs.toFixed(0)} ms, release (until the kernel shows everything, IPv6 DAD included) ${releaseMs.toFixed(0)} ms`,
    );
  });

  it('unbind: the device goes to vfio-pci through sysfs and comes back to its kernel driver', async () => {
    const before = lab.view();
    const config = await client.steal(NIC, { unbind: true });
    expect(config.kernelDriver).toBe(KERNEL_DRIVER);
    expect(await lab.sysfs.driverOf(PCI)).toBe('vfio-pci');
    await client.release(NIC);
    expect(await lab.sysfs.driverOf(PCI)).toBe(KERNEL_DRIVER);
    expect(lab.sysfs.history.slice(-4)).toEqual([
      `unbind ${KERNEL_DRIVER} ${PCI}`,
      `bind vfio-pci ${PCI}`,
      `unbind vfio-pci ${PCI}`,
      `bind ${KERNEL_DRIVER} ${PCI}`,
    ]);
    expect(lab.sysfs.rejected).toEqual([]);
    await lab.settled();
    expect(lab.view()).toEqual(before);
  });

  it('bad requests get clear gRPC errors and change nothing', async () => {
    const before = lab.view();
    const files = (): string[] => readdirSync(lab.stateDir);
    const cases: [() => Promise<unknown>, status, RegExp][] = [
      [() => client.steal('nosuch0'), status.NOT_FOUND, /nosuch0 does not exist/],
      [() => client.steal('lo'), status.INVALID_ARGUMENT, /loopback/],
      [() => client.steal('nic0;reboot'), status.INVALID_ARGUMENT, /characters/],
      [() => client.steal('../../etc'), status.INVALID_ARGUMENT, /characters/],
      [() => client.steal('averyveryverylongname'), status.INVALID_ARGUMENT, /longer than 15/],
      [() => client.steal(''), status.INVALID_ARGUMENT, /empty/],
      [() => client.release(NIC), status.FAILED_PRECONDITION, /not stolen/],
    ];
    for (const [call, code, message] of cases) {
      const err = await refusal(call());
      expect({ code: err.code, message: err.message }).toEqual({
        code,
        message: expect.stringMatching(message),
      });
    }
    // A device with no PCI parent cannot be handed to vfio-pci.
    ip(lab.host, 'link', 'add', 'nopci0', 'type', 'veth', 'peer', 'name', 'nopci1');
    const noPci = await refusal(client.steal('nopci0', { unbind: true }));
    expect(noPci.code).toBe(status.FAILED_PRECONDITION);
    expect(noPci.message).toMatch(/not a PCI device/);
    ip(lab.host, 'link', 'del', 'nopci0');
    expect(lab.view()).toEqual(before);
    expect(files()).toEqual([]);

    // Already stolen: refused, and the held interface stays exactly as it was.
    await client.steal(NIC);
    const stolen = lab.view();
    const state = lab.stateFile();
    const again = await refusal(client.steal(NIC));
    expect(again.code).toBe(status.ALREADY_EXISTS);
    expect(again.errorName).toBe('AlreadyStolenError');
    expect(lab.view()).toEqual(stolen);
    expect(lab.stateFile()).toEqual(state);
  });
});

describe.skipIf(skip)('STN daemon: process surface and the agent-side client', () => {
  const lab = new StnLab();
  let daemon: StnDaemonProcess;
  let client: StnClient;

  beforeAll(async () => {
    await lab.setup();
    daemon = await lab.daemon('stn-surface').start();
    client = new StnClient({ socket: lab.socket });
  });

  afterAll(async () => {
    client?.close();
    await daemon?.proc.stop();
    await lab.cleanup();
  });

  it('serves gRPC on a 0600 socket and /livez /readyz /metrics /status over HTTP', async () => {
    expect(statSync(lab.socket).mode & 0o777).toBe(0o600);
    const url = (await daemon.waitForLog((l) => l.msg === 'health server listening')).url ?? '';
    expect((await fetch(`${url}/livez`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await client.steal(NIC);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/netloom_stn_stolen_interfaces\{[^}]*\} 1/);
    expect(metrics).toMatch(/netloom_stn_operations_total\{[^}]*operation="steal",result="ok"[^}]*\} 1/);
    const st = (await (await fetch(`${url}/status`)).json()) as { stolen: { state: string }[] };
    expect(st.stolen.map((s) => s.state)).toEqual(['stolen']);
    await client.release(NIC);
  });

  it('a second daemon on the same socket refuses to start and touches nothing', async () => {
    const second = lab.daemon('stn-second');
    const err = await second.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await second.proc.stop();
    expect(String(err)).toMatch(/another process serves .*stn\.sock/);
    expect((await client.status()).stolen).toEqual([]);
  });

  it('stealAtStart returns the held configuration to a restarted agent; releaseAtShutdown is idempotent', async () => {
    const first = await stealAtStart(client, NIC);
    const again = await stealAtStart(client, NIC);
    expect(again).toEqual(first);
    expect(await releaseAtShutdown(client, NIC)).toBe(true);
    expect(await releaseAtShutdown(client, NIC)).toBe(false);
  });

  it('stealAtStart waits for a daemon that is restarting', async () => {
    await daemon.proc.stop();
    const pending = stealAtStart(client, NIC, { retryForMs: 20_000 });
    await new Promise((r) => setTimeout(r, 700));
    await daemon.start();
    const config = await pending;
    expect(config.name).toBe(NIC);
    expect(lab.stateFile()?.phase).toBe('stolen');
    await releaseAtShutdown(client, NIC);
  });
});

describe.skipIf(skip)('STN daemon: a steal that fails part way', () => {
  const lab = new StnLab();
  let daemon: StnDaemonProcess;

  afterAll(async () => {
    await daemon?.proc.stop();
    await lab.cleanup();
  });

  it('is rolled back: the NIC ends exactly as before and the error says so', async () => {
    await lab.setup();
    // The "kernel" never carries out the vfio-pci bind, so the steal cannot complete.
    await lab.sysfs.stop();
    daemon = await lab.daemon('stn-rollback', { 'kernel-timeout-ms': 3000 }).start();
    const client = new StnClient({ socket: lab.socket });
    const before = lab.view();
    const err = await refusal(client.steal(NIC, { unbind: true }));
    client.close();
    expect(err.code).toBe(status.INTERNAL);
    expect(err.message).toMatch(/steal of nic0 failed and was rolled back: binding 0000:00:03.0 to vfio-pci/);
    await lab.settled();
    expect(lab.view()).toEqual(before);
    expect(lab.stateFile()).toBeUndefined();
  });
});
