import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.js"],
    environment: "node", // DOM tests opt in with `// @vitest-environment happy-dom`
    restoreMocks: true,
  },
});
