// `pear-fog` command line. Subcommands are filled in by src/cli/*.ts.
console.error("pear-fog: no subcommands yet");
process.exit(2);
