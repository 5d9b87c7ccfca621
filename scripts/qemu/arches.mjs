// Emulated routers: one entry per OpenWrt arch that the QEMU test images cover.
//
//   openwrt      OpenWrt package architecture (dist/<openwrt>/pear-fogd, the ipk's Architecture)
//   short        the suite's name (test/qemu/<short>.test.ts)
//   debArch      Debian architecture of the kernel and busybox-static packages
//   kernelMeta   Debian metapackage whose Depends names the current kernel ABI package
//   kernelFile   regexp of the kernel file under /boot in that package
//   modules      NIC driver modules, insmod'ed in this order (not built into these kernels)
//   system       qemu-system binary (Debian package in `package`)
//   machine      machine, CPU and device arguments; the NIC is on netdev "n0"
//   console      the serial console's device name in the guest
//   softFloatBusybox  busybox built from source with the router toolchain instead of Debian's
//                busybox-static (hard-float on mipsel: see ensureSoftFloatBusybox)
export const QEMU_ARCHES = {
  mipsel_24kc: {
    openwrt: "mipsel_24kc",
    short: "mipsel",
    debArch: "mipsel",
    kernelMeta: "linux-image-4kc-malta",
    kernelFile: /^vmlinuz-/,
    modules: ["mii", "pcnet32"],
    system: "qemu-system-mipsel",
    package: "qemu-system-mips",
    // malta has a Cirrus VGA by default (needs -vga none) and its pcnet NIC wants an iPXE
    // ROM that Debian's qemu-system-mips does not ship (romfile= drops it).
    machine: ["-M", "malta", "-cpu", "24Kc", "-vga", "none", "-device", "pcnet,netdev=n0,romfile="],
    console: "ttyS0",
    memory: 256,
    softFloatBusybox: true,
  },
  "arm_cortex-a7_neon-vfpv4": {
    openwrt: "arm_cortex-a7_neon-vfpv4",
    short: "armhf",
    debArch: "armhf",
    kernelMeta: "linux-image-armmp",
    kernelFile: /^vmlinuz-/,
    modules: ["virtio_mmio", "failover", "net_failover", "virtio_net"],
    system: "qemu-system-arm",
    package: "qemu-system-arm",
    // virt's virtio devices sit on MMIO: virtio-net-device, not the PCI virtio-net-pci.
    machine: ["-M", "virt", "-cpu", "cortex-a15", "-device", "virtio-net-device,netdev=n0"],
    console: "ttyAMA0",
    memory: 256,
  },
  "aarch64_cortex-a53": {
    openwrt: "aarch64_cortex-a53",
    short: "arm64",
    debArch: "arm64",
    kernelMeta: "linux-image-cloud-arm64",
    kernelFile: /^vmlinuz-/,
    modules: ["virtio", "virtio_ring", "virtio_mmio", "failover", "net_failover", "virtio_net"],
    system: "qemu-system-aarch64",
    package: "qemu-system-arm",
    machine: ["-M", "virt", "-cpu", "cortex-a53", "-device", "virtio-net-device,netdev=n0"],
    console: "ttyAMA0",
    memory: 256,
  },
};

export const QEMU_ARCH_NAMES = Object.keys(QEMU_ARCHES);

/** The entry for an OpenWrt arch name or its short name. */
export function qemuArch(name) {
  const a = QEMU_ARCHES[name] ?? Object.values(QEMU_ARCHES).find((x) => x.short === name);
  if (!a) {
    const known = Object.values(QEMU_ARCHES).map((x) => `${x.openwrt} (${x.short})`);
    throw new Error(`no QEMU image for '${name}' (known: ${known.join(", ")})`);
  }
  return a;
}
