// The coordinator's STUN responder (src/coordinator/stun.ts) alone, for the NAT lab's internet
// namespace: `node --import tsx test/nat/stun-server.ts HOST PORT` prints "ready" when bound.
import { startStunServer } from "../../src/coordinator/stun";

const [host, port] = process.argv.slice(2);
await startStunServer(host!, Number(port));
process.stdout.write("ready\n");
