// A TCP relay in front of a port that can stall: while stalled it accepts connections and
// sends nothing on, so a caller waits out its own timeout (kube-apiserver calling a
// webhook that hangs). TLS passes through untouched.
import net from 'node:net';

export interface StallProxy {
  port: number;
  stall(): void;
  /** Relays again; connections accepted while stalled are cut. */
  unstall(): void;
  stop(): Promise<void>;
}

export async function startStallProxy(targetPort: number): Promise<StallProxy> {
  let stalled = false;
  const held = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    if (stalled) {
      held.add(client);
      client.on('close', () => held.delete(client));
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stall() {
      stalled = true;
      // Kept-alive connections from before would otherwise still relay.
      for (const s of open) s.destroy();
    },
    unstall() {
      stalled = false;
      for (const s of held) s.destroy();
    },
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
