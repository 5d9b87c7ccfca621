// Per-arch toolchain: Debian's cross gcc/binutils (system packages, installed with apt-get when
// missing), a private musl sysroot and a `cc` wrapper that compiles and links against it.
//
//   <cache>/router/<arch>/sysroot/{include,lib}   musl + Linux UAPI headers (+ libsoftfp.a)
//   <cache>/router/<arch>/bin/cc                  exec <triple>-gcc <cflags> "$@" -specs musl.specs
//
// musl: Debian's musl-dev:<debArch> extracted, except mipsel (Debian's is hard-float; a 24Kc
// has no FPU): musl built from Debian's source with -msoft-float, and libgcc's soft-fp
// routines compiled from gcc-12-source into libsoftfp.a, linked before libgcc.
import {
  chmodSync,
  cpSync,
  existsSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ensureAptPackages } from "../bootstrap.mjs";
import { debFile, origTarball, resolveVersion, sourceDir } from "./apt.mjs";
import { defaults, freshDir, keyOf, log, routerCache, run, RouterBuildError } from "./lib.mjs";
import { stamped, stamp } from "./lib.mjs";

/** Host packages the router build needs: name → why. Installed lazily (see ensureHostPackages). */
export function hostPackages(arches) {
  const p = {
    cmake: "builds usrsctp and mbedTLS",
    "xz-utils": "unpacks source tarballs",
    bzip2: "unpacks the mbedTLS source tarball",
    file: "checks the binaries' arch and static linking",
    make: "drives every build",
    perl: "OpenSSL's Configure",
  };
  for (const a of arches) {
    for (const pkg of a.packages) {
      p[pkg] =
        `${a.name}: ${pkg.startsWith("gcc") ? "C compiler (musl via a specs wrapper)" : "as, ld, strip, objdump"}`;
    }
    if (a.qemu.length) p["qemu-user-static"] = "runs the target binaries in tests";
  }
  return p;
}

/** apt-get installs the missing host packages (system-wide, scripts/bootstrap.mjs's installer). */
export function ensureHostPackages(arches) {
  try {
    ensureAptPackages(Object.keys(hostPackages(arches)));
  } catch (e) {
    throw new RouterBuildError("host packages", e.message);
  }
}

/** Tool path for the arch's binutils: `<triple>-<tool>`. */
export function tool(arch, name) {
  return `${arch.triple}-${name}`;
}

function extractDeb(deb, into) {
  run("dpkg -x", "dpkg", ["-x", deb, into]);
}

/** Copies the Linux UAPI headers of linux-libc-dev:<debArch> into <sysroot>/include. */
function installKernelHeaders(arch, sysroot, versions) {
  const tmp = freshDir(join(routerCache(arch.name), "tmp-kernel-headers"));
  extractDeb(debFile("bookworm", "linux-libc-dev", arch.debArch, versions.linuxLibcDev), tmp);
  const inc = join(tmp, "usr", "include");
  for (const d of readdirSync(inc)) {
    if (d.includes("-linux-")) continue;
    cpSync(join(inc, d), join(sysroot, "include", d), { recursive: true });
  }
  const multi = readdirSync(inc).find((d) => d.includes("-linux-"));
  if (!multi) throw new RouterBuildError("kernel headers", "no <multiarch>/asm in linux-libc-dev");
  cpSync(join(inc, multi, "asm"), join(sysroot, "include", "asm"), { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
}

/** musl from Debian's binary package (headers + static libs + crt files). */
function installMuslDeb(arch, sysroot, versions) {
  const tmp = freshDir(join(routerCache(arch.name), "tmp-musl"));
  extractDeb(debFile("bookworm", "musl-dev", arch.debArch, versions.musl), tmp);
  cpSync(join(tmp, "usr", "include", arch.muslTriple), join(sysroot, "include"), {
    recursive: true,
  });
  cpSync(join(tmp, "usr", "lib", arch.muslTriple), join(sysroot, "lib"), { recursive: true });
  rmSync(join(sysroot, "lib", "musl-gcc.specs"), { force: true });
  rmSync(tmp, { recursive: true, force: true });
}

/** musl built from Debian's source with the arch's cflags (mipsel soft-float). */
function installMuslSource(arch, sysroot, versions, logFile) {
  const src = sourceDir("bookworm", "musl", versions.muslSource);
  const work = freshDir(join(routerCache(arch.name), "build-musl"));
  run("musl unpack", "tar", ["xf", origTarball(src), "-C", work, "--strip-components=1"]);
  log(`${arch.name}: building musl ${versions.muslSource} from source (${arch.cflags.join(" ")})`);
  run(
    "musl configure",
    "./configure",
    [
      `--target=${arch.muslTriple}`,
      `--prefix=${sysroot}`,
      `--libdir=${join(sysroot, "lib")}`,
      `--includedir=${join(sysroot, "include")}`,
      `--syslibdir=${join(sysroot, "lib")}`,
      "--disable-shared",
    ],
    {
      cwd: work,
      logFile,
      nice: true,
      env: {
        CC: tool(arch, "gcc"),
        CROSS_COMPILE: `${arch.triple}-`,
        CFLAGS: [...arch.cflags, "-Os"].join(" "),
      },
    },
  );
  run("musl make", "make", [`-j${defaults.jobs}`], { cwd: work, logFile, nice: true });
  run("musl install", "make", ["install"], { cwd: work, logFile });
  rmSync(work, { recursive: true, force: true });
}

/**
 * libgcc's soft-fp routines (single/double add/sub/mul/div/neg/compare/conversions) from
 * gcc-12-source, compiled with the arch's -msoft-float flags into <sysroot>/lib/libsoftfp.a.
 * Debian's mipsel libgcc.a is built hard-float; its float helpers would use FPU instructions.
 */
function installSoftFp(arch, sysroot, versions, logFile) {
  const tmp = freshDir(join(routerCache(arch.name), "build-softfp"));
  const deb = debFile("bookworm", "gcc-12-source", "all", versions.gccSource);
  log(`${arch.name}: compiling soft-fp from ${deb.split("/").pop()}`);
  // The .deb carries usr/src/gcc-12/gcc-<v>.tar.xz (the whole GCC tree): take only libgcc's
  // soft-fp dir, the mips sfp-machine.h and GCC's longlong.h.
  run("gcc-12-source", "sh", [
    "-c",
    `dpkg --fsys-tarfile "$1" | tar x -C "$2" --wildcards './usr/src/gcc-12/gcc-*.tar.*'`,
    "sh",
    deb,
    tmp,
  ]);
  const srcDir = join(tmp, "usr", "src", "gcc-12");
  const tarball = readdirSync(srcDir).find((f) => f.startsWith("gcc-"));
  run(
    "gcc soft-fp unpack",
    "tar",
    [
      "xf",
      join(srcDir, tarball),
      "-C",
      tmp,
      "--strip-components=1",
      "--wildcards",
      "*/libgcc/soft-fp/*",
      "*/libgcc/config/mips/sfp-machine.h",
      "*/include/longlong.h",
    ],
    { nice: true, logFile },
  );
  rmSync(srcDir, { recursive: true, force: true });
  const sfp = join(tmp, "libgcc", "soft-fp");
  // SF and DF arithmetic, comparisons and conversions to/from 32/64-bit integers.
  const wanted = readdirSync(sfp).filter((f) =>
    /^(?:(?:add|sub|mul|div|neg)(?:sf|df)3|neg(?:sf|df)2|(?:eq|ge|le|unord)(?:sf|df)2|fix(?:uns)?(?:sf|df)(?:si|di)|float(?:un)?(?:si|di)(?:sf|df)|extendsfdf2|truncdfsf2)\.c$/.test(
      f,
    ),
  );
  if (wanted.length < 30) {
    throw new RouterBuildError("soft-fp", `expected ~40 soft-fp sources, found ${wanted.length}`);
  }
  writeFileSync(
    join(tmp, "tconfig.h"),
    "/* build-router: stand-in for GCC's generated tconfig.h */\n",
  );
  const objs = [];
  for (const f of wanted) {
    const o = join(tmp, f.replace(/\.c$/, ".o"));
    run(
      `soft-fp ${f}`,
      tool(arch, "gcc"),
      [
        ...arch.cflags,
        "-O2",
        "-fPIC",
        "-ffreestanding",
        "-DIN_LIBGCC2",
        "-DFP_SOFT",
        `-I${join(tmp, "libgcc", "config", "mips")}`,
        `-I${sfp}`,
        `-I${tmp}`,
        `-I${join(tmp, "include")}`,
        "-c",
        join(sfp, f),
        "-o",
        o,
      ],
      { logFile, nice: true },
    );
    objs.push(o);
  }
  const lib = join(sysroot, "lib", "libsoftfp.a");
  rmSync(lib, { force: true });
  run("soft-fp ar", tool(arch, "ar"), ["rcs", lib, ...objs], { logFile });
  rmSync(tmp, { recursive: true, force: true });
}

/** A gcc specs file pointing gcc at the musl sysroot (after Debian's musl-gcc.specs). */
function specsText(arch, sysroot) {
  const inc = join(sysroot, "include");
  const lib = join(sysroot, "lib");
  const softfp = arch.softFloat ? `${join(lib, "libsoftfp.a")} ` : "";
  return `%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem ${inc} -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem ${inc} -isystem include%s

*link_libgcc:
-L${lib} -L .%s

*libgcc:
${softfp}libgcc.a%s %:if-exists(libgcc_eh.a%s)

*startfile:
%{!shared: ${lib}/Scrt1.o} ${lib}/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s ${lib}/crtn.o

*link:
-nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}

*esp_link:


*esp_options:


*esp_cpp_options:


`;
}

/**
 * Makes sure the arch's sysroot and cc wrapper exist (stamped by versions and flags).
 * Returns { cc, sysroot, bin }.
 */
export function ensureToolchain(arch, { refresh } = {}) {
  const dir = routerCache(arch.name);
  const sysroot = join(dir, "sysroot");
  const bin = join(dir, "bin");
  const versions = {
    musl: arch.muslFromSource
      ? undefined
      : resolveVersion("bookworm", "musl-dev", { arch: arch.debArch, refresh }),
    muslSource: arch.muslFromSource
      ? resolveVersion("bookworm", "musl", { source: true, refresh })
      : undefined,
    linuxLibcDev: resolveVersion("bookworm", "linux-libc-dev", { arch: arch.debArch, refresh }),
    gccSource: arch.softFloat
      ? resolveVersion("bookworm", "gcc-12-source", { refresh })
      : undefined,
  };
  const key = keyOf({ v: 3, versions, cflags: arch.cflags, triple: arch.triple });
  const cc = join(bin, "cc");
  if (stamped(sysroot, key) && existsSync(cc)) return { cc, sysroot, bin, versions };

  const logFile = join(dir, "logs", "toolchain.log");
  log(`${arch.name}: musl sysroot (${arch.muslFromSource ? "from source" : "musl-dev"})`);
  const staging = freshDir(`${sysroot}.new`);
  freshDir(join(staging, "include"));
  freshDir(join(staging, "lib"));
  if (arch.muslFromSource) installMuslSource(arch, staging, versions, logFile);
  else installMuslDeb(arch, staging, versions);
  installKernelHeaders(arch, staging, versions);
  if (arch.softFloat) installSoftFp(arch, staging, versions, logFile);
  rmSync(sysroot, { recursive: true, force: true });
  renameSync(staging, sysroot);
  // Paths inside specs are absolute: written after the rename.
  writeFileSync(join(sysroot, "musl.specs"), specsText(arch, sysroot));

  freshDir(bin);
  const cflags = arch.cflags.map((f) => `'${f}'`).join(" ");
  writeFileSync(
    cc,
    `#!/bin/sh\n# build-router: ${arch.name} gcc against the musl sysroot ${sysroot}\n` +
      `exec ${tool(arch, "gcc")} ${cflags} "$@" -specs '${join(sysroot, "musl.specs")}'\n`,
  );
  chmodSync(cc, 0o755);
  // Smoke test: a static hello world links.
  const hello = join(dir, "tmp-hello");
  freshDir(hello);
  writeFileSync(
    join(hello, "h.c"),
    '#include <stdio.h>\nint main(void){double d=1.5;printf("hi %g\\n",d*2);return 0;}\n',
  );
  run("toolchain smoke test", cc, ["-static", "-Os", "h.c", "-o", "h"], { cwd: hello, logFile });
  rmSync(hello, { recursive: true, force: true });
  stamp(sysroot, key);
  return { cc, sysroot, bin, versions };
}
