import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Hang detectors, not speed limits: a test waits for events (a process's exit, a server's
    // message, a frame's load), and these only stop one that never comes. Generous, because a
    // busy 2-core CI machine running Chromium can take 30 s over a screenshot test. Timing
    // belongs in `npm run bench`.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
