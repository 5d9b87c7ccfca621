import { describe, expect, it } from "vitest";
import { stunServersOf } from "./agent";

describe("stunServersOf", () => {
  it("keeps IP-literal STUN URLs as IP:PORT (default 3478), skips names and TURN", () => {
    expect(
      stunServersOf([
        { urls: ["stun:198.51.100.2:3478", "stun:198.51.100.2:3479", "stun:stun.example.org"] },
        { urls: ["stun:[2001:db8::1]", "turn:198.51.100.3:3478?transport=udp"] },
        { urls: ["stun:203.0.113.1"] },
      ]),
    ).toEqual(["198.51.100.2:3478", "198.51.100.2:3479", "[2001:db8::1]:3478", "203.0.113.1:3478"]);
    expect(
      stunServersOf([
        {
          urls: [
            "stun:10.0.0.1:1",
            "stun:10.0.0.2:2",
            "stun:10.0.0.3:3",
            "stun:10.0.0.4:4",
            "stun:10.0.0.5:5",
          ],
        },
      ]),
    ).toHaveLength(4);
  });
});
