// ESLint flat config: typescript-eslint's recommended rules over src/, test/ and bench/.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "build/", "libs/**/build/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["scripts/**/*.mjs", "bin/**/*.mjs", "*.js"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
  },
  {
    // LuCI views: classic scripts that LuCI's loader wraps in a function ('require' pragmas,
    // a top-level `return view.extend(...)`); E, _, L, ui, dom, poll... are LuCI's globals.
    files: ["openwrt/**/htdocs/**/*.js"],
    languageOptions: {
      sourceType: "script",
      parserOptions: { ecmaFeatures: { globalReturn: true } },
      globals: {
        E: "readonly",
        _: "readonly",
        N_: "readonly",
        L: "readonly",
        ui: "readonly",
        dom: "readonly",
        poll: "readonly",
        form: "readonly",
        rpc: "readonly",
        uci: "readonly",
        view: "readonly",
        fs: "readonly",
        network: "readonly",
        window: "readonly",
        document: "readonly",
      },
    },
    rules: {
      // LuCI's class methods keep `this` for callbacks the ES5-style way.
      "@typescript-eslint/no-this-alias": "off",
    },
  },
);
