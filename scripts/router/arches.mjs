// The OpenWrt targets we build for. Adding one = one entry here (see docs/router-builds.md).
//
//   openwrt      OpenWrt's package architecture name (the ipk's Architecture field)
//   triple       Debian cross toolchain prefix (gcc-<triple>, binutils-<triple>)
//   packages     Debian host packages providing <triple>-gcc and binutils
//   debArch      Debian architecture whose musl-dev / linux-libc-dev are extracted
//   muslTriple   Debian's musl multiarch dir (include/<muslTriple>, lib/<muslTriple>)
//   muslFromSource  build musl from Debian's source (with cflags) instead of musl-dev:debArch
//   softFloat    link libgcc's soft-fp routines (built from gcc-12-source) before libgcc
//   cflags       code generation for the target CPU (compilers, OpenSSL, usrsctp, musl)
//   ldlibs       extra libraries for every link (after everything else)
//   opensslTarget  OpenSSL ./Configure target
//   cmakeProcessor CMAKE_SYSTEM_PROCESSOR
//   qemu         argv prefix to run a target binary on this x86_64 host ([] = natively)
//   fileArch     what `file` must say for the binary
//   elfMachine   e_machine in the ELF header (checked by the tests)
export const ARCHES = {
  x86_64: {
    openwrt: "x86_64",
    triple: "x86_64-linux-gnu",
    packages: ["gcc", "binutils-x86-64-linux-gnu"],
    debArch: "amd64",
    muslTriple: "x86_64-linux-musl",
    muslFromSource: false,
    softFloat: false,
    cflags: ["-march=x86-64", "-mtune=generic"],
    ldlibs: [],
    opensslTarget: "linux-x86_64",
    cmakeProcessor: "x86_64",
    qemu: [],
    fileArch: "x86-64",
    elfMachine: 62,
  },
  "aarch64_cortex-a53": {
    openwrt: "aarch64_cortex-a53",
    triple: "aarch64-linux-gnu",
    packages: ["gcc-aarch64-linux-gnu", "binutils-aarch64-linux-gnu"],
    debArch: "arm64",
    muslTriple: "aarch64-linux-musl",
    muslFromSource: false,
    softFloat: false,
    cflags: ["-mcpu=cortex-a53"],
    ldlibs: [],
    opensslTarget: "linux-aarch64",
    cmakeProcessor: "aarch64",
    qemu: ["qemu-aarch64-static", "-cpu", "cortex-a53"],
    fileArch: "ARM aarch64",
    elfMachine: 183,
  },
  "arm_cortex-a7_neon-vfpv4": {
    openwrt: "arm_cortex-a7_neon-vfpv4",
    triple: "arm-linux-gnueabihf",
    packages: ["gcc-arm-linux-gnueabihf", "binutils-arm-linux-gnueabihf"],
    debArch: "armhf",
    muslTriple: "arm-linux-musleabihf",
    muslFromSource: false,
    softFloat: false,
    cflags: ["-march=armv7-a+neon-vfpv4", "-mtune=cortex-a7", "-mfloat-abi=hard", "-mthumb"],
    ldlibs: [],
    opensslTarget: "linux-armv4",
    cmakeProcessor: "arm",
    qemu: ["qemu-arm-static", "-cpu", "cortex-a7"],
    fileArch: "ARM, EABI5",
    elfMachine: 40,
  },
  mipsel_24kc: {
    openwrt: "mipsel_24kc",
    triple: "mipsel-linux-gnu",
    packages: ["gcc-mipsel-linux-gnu", "binutils-mipsel-linux-gnu"],
    debArch: "mipsel",
    muslTriple: "mipsel-linux-musl",
    muslFromSource: true,
    softFloat: true,
    // OpenWrt's ramips/ath79 flags; -msoft-float: a 24Kc has no FPU (see the notes' trap).
    cflags: ["-march=mips32r2", "-mtune=24kc", "-msoft-float", "-mno-branch-likely"],
    ldlibs: ["-latomic"],
    opensslTarget: "linux-mips32",
    cmakeProcessor: "mipsel",
    qemu: ["qemu-mipsel-static", "-cpu", "24Kc"],
    fileArch: "MIPS, MIPS32 rel2",
    elfMachine: 8,
  },
};

export const ARCH_NAMES = Object.keys(ARCHES);

/** The arch entry or a clear error listing the known ones. */
export function archOf(name) {
  const a = ARCHES[name];
  if (!a) throw new Error(`unknown arch '${name}' (known: ${ARCH_NAMES.join(", ")})`);
  return { name, ...a };
}
