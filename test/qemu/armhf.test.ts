// pear-fog on an emulated arm_cortex-a7_neon-vfpv4 router (qemu-system, Debian kernel): see router-suite.ts.
import { routerSuite } from "./router-suite";

routerSuite("arm_cortex-a7_neon-vfpv4");
