// The coordinator's STUN responder (src/coordinator/stun.ts) alone, for the NAT lab's internet
// namespace: `node --import tsx test/nat/stun-server.ts HOST PORT [PORT…]` prints "ready" when
// every port is bound (two ports let pear-fogd see a symmetric NAT: one mapping per port).
import { startStunServer } from "../../src/coordinator/stun";

const [host, ...ports] = process.argv.slice(2);
for (const port of ports) await startStunServer(host!, Number(port));
process.stdout.write("ready\n");
