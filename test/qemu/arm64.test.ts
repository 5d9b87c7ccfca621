// pear-fog on an emulated aarch64_cortex-a53 router (qemu-system, Debian kernel): see router-suite.ts.
import { routerSuite } from "./router-suite";

routerSuite("aarch64_cortex-a53");
