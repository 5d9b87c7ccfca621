// pear-fog on an emulated mipsel_24kc router (qemu-system, Debian kernel): see router-suite.ts.
import { routerSuite } from "./router-suite";

routerSuite("mipsel_24kc");
