/* The release version; the build may override it (-DPEARFOG_VERSION="x.y.z") from
 * package.json so the daemon, the ipk and the npm package agree. */
#ifndef PEARFOG_VERSION
#define PEARFOG_VERSION "0.1.0"
#endif
