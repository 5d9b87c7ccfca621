// A small NAT behaviour probe in the manner of RFC 5780 §4.3/§4.4, used to test the lab itself.
//
//   server (in the internet namespace): UDP sockets on A:P1, A:P2 and B:P1 (two addresses, two
//     ports). Each datagram is a JSON request {ask}; the reply {mapped: "ip:port"} (the source
//     address the server saw) is sent from the socket it arrived on ("echo"), from B:P1
//     ("other-address") or from A:P2 ("other-port").
//   client (behind a NAT): mapping — one socket asks A:P1, A:P2 and B:P1 to echo; equal mapped
//     addresses = endpoint-independent mapping (RFC 4787 §4.1), else dependent. Filtering — a
//     fresh socket that has talked to A:P1 only asks for a reply from B (other address): it
//     arriving = endpoint-independent filtering; else a fresh socket asks for a reply from A:P2:
//     arriving = address-dependent, else address-and-port-dependent (§5).
//
// Run: `node --import tsx test/nat/probe.ts server A B` / `… client A B` (prints one JSON line).
import { createSocket, type Socket } from "node:dgram";
import type { NatClass } from "./lab";

export const PROBE_P1 = 3490;
export const PROBE_P2 = 3491;

export interface ProbeResult {
  mapping: "endpoint-independent" | "address-dependent" | "address-and-port-dependent";
  filtering: "endpoint-independent" | "address-dependent" | "address-and-port-dependent";
  mapped: string[];
}

/** RFC 4787 behaviour → the classic name (RFC 3489 §5 terms). */
export function natClassOf(r: ProbeResult): NatClass {
  if (r.mapping !== "endpoint-independent") return "symmetric";
  if (r.filtering === "endpoint-independent") return "full-cone";
  if (r.filtering === "address-dependent") return "address-restricted";
  return "port-restricted";
}

function bind(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(port, host, () => resolve(s));
  });
}

async function server(a: string, b: string): Promise<void> {
  const aP1 = await bind(a, PROBE_P1);
  const aP2 = await bind(a, PROBE_P2);
  const bP1 = await bind(b, PROBE_P1);
  for (const sock of [aP1, aP2, bP1]) {
    sock.on("message", (msg, rinfo) => {
      let ask = "echo";
      try {
        ask = (JSON.parse(msg.toString()) as { ask: string }).ask;
      } catch {
        return;
      }
      const out = ask === "other-address" ? bP1 : ask === "other-port" ? aP2 : sock;
      const reply = Buffer.from(JSON.stringify({ mapped: `${rinfo.address}:${rinfo.port}` }));
      out.send(reply, rinfo.port, rinfo.address);
    });
  }
  process.stdout.write("ready\n");
}

/** Send {ask} to host:port (3 tries); the reply's mapped address or null after timeoutMs. */
function ask(
  sock: Socket,
  host: string,
  port: number,
  what: string,
  timeoutMs = 400,
): Promise<string | null> {
  return new Promise((resolve) => {
    const msg = Buffer.from(JSON.stringify({ ask: what }));
    let tries = 0;
    const send = () => {
      if (tries++ < 3) sock.send(msg, port, host);
    };
    const onMsg = (m: Buffer) => {
      clearInterval(iv);
      clearTimeout(t);
      sock.off("message", onMsg);
      resolve((JSON.parse(m.toString()) as { mapped: string }).mapped);
    };
    sock.on("message", onMsg);
    const iv = setInterval(send, timeoutMs / 3);
    const t = setTimeout(() => {
      clearInterval(iv);
      sock.off("message", onMsg);
      resolve(null);
    }, timeoutMs);
    send();
  });
}

export async function probe(a: string, b: string): Promise<ProbeResult> {
  const s1 = await bind("0.0.0.0", 0);
  const m1 = await ask(s1, a, PROBE_P1, "echo");
  const m2 = await ask(s1, a, PROBE_P2, "echo");
  const m3 = await ask(s1, b, PROBE_P1, "echo");
  s1.close();
  if (!m1 || !m2 || !m3) throw new Error(`probe: no echo (${m1}, ${m2}, ${m3})`);
  const mapping =
    m1 === m2 && m1 === m3
      ? "endpoint-independent"
      : m1 === m2
        ? "address-dependent"
        : "address-and-port-dependent";
  // filtering: fresh sockets so that no earlier datagram opened anything
  const s2 = await bind("0.0.0.0", 0);
  const eif = await ask(s2, a, PROBE_P1, "other-address");
  s2.close();
  let filtering: ProbeResult["filtering"] = "endpoint-independent";
  if (!eif) {
    const s3 = await bind("0.0.0.0", 0);
    const adf = await ask(s3, a, PROBE_P1, "other-port");
    s3.close();
    filtering = adf ? "address-dependent" : "address-and-port-dependent";
  }
  return { mapping, filtering, mapped: [m1, m2, m3] };
}

if (process.argv[1]?.endsWith("probe.ts")) {
  const [mode, a, b] = process.argv.slice(2);
  if (mode === "server") await server(a!, b!);
  else process.stdout.write(JSON.stringify(await probe(a!, b!)) + "\n", () => process.exit(0));
}
