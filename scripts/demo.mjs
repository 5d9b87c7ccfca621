// `npm run demo`: placeholder until the fog CDN end-to-end issue lands.
console.error("demo: not implemented yet");
process.exit(1);
